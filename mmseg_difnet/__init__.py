"""DifNet (Jiang et al., NeurIPS 2018) for MMSegmentation 1.x.

Importing this package registers its modules into mmseg's registries.
"""
from .checkpoint import (
                         SafeCheckpointHook,
                         allow_mmengine_checkpoints,
                         explain_pretrained_failures,
                         install_verified_loader,
)
from .datasets import LoadAnnotationsChecked, generate_synthetic_voc
from .diagnostics import WalkDiagnosticsHook
from .engine import ConfigCheckHook, DifNetRunner, StopOnInvalidLossHook
from .evaluation import PerWalkIoUMetric
from .models import (
                         CheckedEncoderDecoder,
                         DeepLabV2Head,
                         DiffusionHead,
                         DiffusionTrace,
                         DifNetDataPreProcessor,
                         DifNetEncoderDecoder,
                         DifNetHead,
                         DifNetResNet,
                         RandomWalk,
                         SharedSimilarity,
                         SimilarityBackbone,
)
from .version import __version__

allow_mmengine_checkpoints()
install_verified_loader()  # every local checkpoint load checks its integrity (checkpoint.integrity)
explain_pretrained_failures()

__all__ = ['LoadAnnotationsChecked', 'generate_synthetic_voc', 'ConfigCheckHook',
           'DifNetRunner', 'SafeCheckpointHook', 'StopOnInvalidLossHook', 'PerWalkIoUMetric',
           'WalkDiagnosticsHook',
           'CheckedEncoderDecoder', 'DeepLabV2Head', 'DiffusionHead', 'DiffusionTrace',
           'DifNetDataPreProcessor', 'DifNetEncoderDecoder', 'DifNetHead', 'DifNetResNet',
           'RandomWalk', 'SharedSimilarity', 'SimilarityBackbone', '__version__']
