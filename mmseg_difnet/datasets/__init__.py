from .camvid import CamVidDataset
from .load_annotations_checked import LoadAnnotationsChecked
from .load_image_checked import LoadImageChecked, check_image_bytes, imread_checked
from .random_pad import RandomPad
from .synthetic_voc import generate_synthetic_voc

__all__ = ["CamVidDataset", "LoadAnnotationsChecked", "LoadImageChecked", "check_image_bytes",
           "imread_checked", "RandomPad", "generate_synthetic_voc"]
