"""DifNet (Jiang et al., NeurIPS 2018) for MMSegmentation 1.x.

Importing this package registers its modules into mmseg's registries under their own names,
and does nothing else: no class of mmseg's, mmcv's or mmengine's is replaced, no loader or
allowlist changed. Its safety is switched on by configuration (``configs/_base_/
default_runtime.py``: the Runner, its hooks; the dataset bases' ``LoadImageChecked`` and
``LoadAnnotationsChecked``) and by :func:`checked_loading` where it loads checkpoints.
"""
from .checkpoint import SafeCheckpointHook, checked_loading
from .datasets import LoadAnnotationsChecked, LoadImageChecked, generate_synthetic_voc
from .diagnostics import WalkDiagnosticsHook
from .engine import CheckedLoadingHook, ConfigCheckHook, DifNetRunner, StopOnInvalidLossHook
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

__all__ = ['LoadAnnotationsChecked', 'LoadImageChecked', 'checked_loading',
           'generate_synthetic_voc', 'CheckedLoadingHook', 'ConfigCheckHook', 'DifNetRunner',
           'SafeCheckpointHook', 'StopOnInvalidLossHook', 'PerWalkIoUMetric',
           'WalkDiagnosticsHook', 'CheckedEncoderDecoder', 'DeepLabV2Head', 'DiffusionHead',
           'DiffusionTrace', 'DifNetDataPreProcessor', 'DifNetEncoderDecoder', 'DifNetHead',
           'DifNetResNet', 'RandomWalk', 'SharedSimilarity', 'SimilarityBackbone',
           '__version__']
