"""What the cost tools of this folder share (benchmark.py, zoo_cost.py, refine_cost.py,
affinity_cost.py, fused_parity.py, gpu_report.py): interleaved timing and ratios, FLOPs, and
one module per benchmark section. Part of the repository, not of the installed package;
the tools import it from their own folder (run them by path)."""
from .flops import gflops
from .timing import autocast, device_name, interleaved, ratio_stats, spread, sync, timed

__all__ = ['autocast', 'device_name', 'gflops', 'interleaved', 'ratio_stats', 'spread', 'sync',
           'timed']
