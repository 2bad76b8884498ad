from .camvid import CamVidDataset
from .load_annotations_checked import LoadAnnotationsChecked
from .random_pad import RandomPad
from .synthetic_voc import generate_synthetic_voc

__all__ = ["CamVidDataset", "LoadAnnotationsChecked", "RandomPad", "generate_synthetic_voc"]
