from .load_annotations_checked import LoadAnnotationsChecked
from .synthetic_voc import generate_synthetic_voc

__all__ = ["LoadAnnotationsChecked", "generate_synthetic_voc"]
