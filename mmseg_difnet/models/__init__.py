from .checked_encoder_decoder import CheckedEncoderDecoder
from .data_preprocessor import DifNetDataPreProcessor
from .deeplabv2_head import DeepLabV2Head
from .difnet_encoder_decoder import DifNetEncoderDecoder
from .difnet_head import DiffusionTrace, DifNetHead
from .random_walk import RandomWalk
from .resnet import DifNetResNet
from .similarity_backbone import SimilarityBackbone

__all__ = ['CheckedEncoderDecoder', 'DeepLabV2Head', 'DifNetDataPreProcessor', 'DiffusionTrace',
           'DifNetEncoderDecoder', 'DifNetHead', 'DifNetResNet', 'RandomWalk',
           'SimilarityBackbone']
