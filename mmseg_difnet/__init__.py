"""DifNet (Jiang et al., NeurIPS 2018) for MMSegmentation 1.x.

Importing this package registers its modules into ``mmseg.registry.MODELS``.
"""
from .datasets import LoadAnnotationsChecked, generate_synthetic_voc
from .engine import ConfigCheckHook, StopOnInvalidLossHook
from .models import (
                     DeepLabV2Head,
                     DiffusionTrace,
                     DifNetDataPreProcessor,
                     DifNetEncoderDecoder,
                     DifNetHead,
                     DifNetResNet,
                     RandomWalk,
                     SimilarityBackbone,
)
from .utils import allow_mmengine_checkpoints, explain_pretrained_failures
from .version import __version__

allow_mmengine_checkpoints()
explain_pretrained_failures()

__all__ = ['LoadAnnotationsChecked', 'generate_synthetic_voc', 'ConfigCheckHook',
           'StopOnInvalidLossHook', 'DeepLabV2Head', 'DifNetDataPreProcessor',
           'DifNetEncoderDecoder', 'DifNetHead', 'DifNetResNet', 'DiffusionTrace', 'RandomWalk',
           'SimilarityBackbone', '__version__']
