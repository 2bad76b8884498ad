from .affinity_refiner import AffinityRefiner
from .checked_encoder_decoder import CheckedEncoderDecoder
from .data_preprocessor import DifNetDataPreProcessor
from .deeplabv2_head import DeepLabV2Head
from .diffusion_head import DiffusionHead, DiffusionTrace
from .difnet_encoder_decoder import DifNetEncoderDecoder
from .difnet_head import DifNetHead
from .label_affinity import AffinityLoss
from .post_processed_segmentor import PostProcessedSegmentor
from .post_processing import DenseCRF, Refiner
from .random_walk import RandomWalk
from .resnet import DifNetResNet
from .similarity_backbone import SharedSimilarity, SimilarityBackbone

__all__ = ['AffinityLoss', 'AffinityRefiner', 'CheckedEncoderDecoder', 'DeepLabV2Head',
           'DenseCRF', 'DifNetDataPreProcessor', 'DiffusionHead', 'DiffusionTrace',
           'DifNetEncoderDecoder', 'DifNetHead', 'DifNetResNet', 'PostProcessedSegmentor',
           'RandomWalk', 'Refiner', 'SharedSimilarity', 'SimilarityBackbone']
