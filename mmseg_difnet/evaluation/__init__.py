from .per_walk_metric import PerWalkIoUMetric

__all__ = ['PerWalkIoUMetric']
