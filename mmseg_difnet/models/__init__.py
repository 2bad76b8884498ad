from .deeplabv2_head import DeepLabV2Head
from .difnet_encoder_decoder import DifNetEncoderDecoder
from .difnet_head import DifNetHead
from .random_walk import RandomWalk
from .similarity_backbone import SimilarityBackbone

__all__ = ['DeepLabV2Head', 'DifNetEncoderDecoder', 'DifNetHead', 'RandomWalk',
           'SimilarityBackbone']
