from .checked_encoder_decoder import CheckedEncoderDecoder
from .data_preprocessor import DifNetDataPreProcessor
from .deeplabv2_head import DeepLabV2Head
from .diffusion_head import DiffusionHead, DiffusionTrace
from .difnet_encoder_decoder import DifNetEncoderDecoder
from .difnet_head import DifNetHead
from .label_affinity import AffinityLoss
from .random_walk import RandomWalk
from .resnet import DifNetResNet
from .similarity_backbone import SharedSimilarity, SimilarityBackbone

__all__ = ['AffinityLoss', 'CheckedEncoderDecoder', 'DeepLabV2Head', 'DifNetDataPreProcessor',
           'DiffusionHead', 'DiffusionTrace', 'DifNetEncoderDecoder', 'DifNetHead',
           'DifNetResNet', 'RandomWalk', 'SharedSimilarity', 'SimilarityBackbone']
