from .synthetic_voc import generate_synthetic_voc

__all__ = ["generate_synthetic_voc"]
