"""DifNet (Jiang et al., NeurIPS 2018) for MMSegmentation 1.x.

Importing this package registers its modules into mmseg's registries.
"""
from .datasets import LoadAnnotationsChecked, generate_synthetic_voc
from .engine import ConfigCheckHook, DifNetRunner, StopOnInvalidLossHook
from .engine.integrity import install_verified_loader
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
from .utils import allow_mmengine_checkpoints, explain_pretrained_failures
from .version import __version__

allow_mmengine_checkpoints()
install_verified_loader()  # every local checkpoint load checks its integrity (engine.integrity)
explain_pretrained_failures()

__all__ = ['LoadAnnotationsChecked', 'generate_synthetic_voc', 'ConfigCheckHook',
           'DifNetRunner', 'StopOnInvalidLossHook', 'PerWalkIoUMetric',
           'CheckedEncoderDecoder', 'DeepLabV2Head', 'DiffusionHead', 'DiffusionTrace',
           'DifNetDataPreProcessor', 'DifNetEncoderDecoder', 'DifNetHead', 'DifNetResNet',
           'RandomWalk', 'SharedSimilarity', 'SimilarityBackbone', '__version__']
