"""DifNet (Jiang et al., NeurIPS 2018) for MMSegmentation 1.x.

Importing this package registers its modules into ``mmseg.registry.MODELS``.
"""
from .models import (DeepLabV2Head, DifNetEncoderDecoder, DifNetHead, RandomWalk,
                     SimilarityBackbone)
from .utils import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

__all__ = ['DeepLabV2Head', 'DifNetEncoderDecoder', 'DifNetHead', 'RandomWalk',
           'SimilarityBackbone', '__version__']
