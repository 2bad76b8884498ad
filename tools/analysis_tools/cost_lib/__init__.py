"""What the cost tools of this folder share (benchmark.py, zoo_cost.py, refine_cost.py,
affinity_cost.py, fused_parity.py, gpu_report.py): interleaved timing and ratios, FLOPs, and
one module per benchmark section. Part of the repository, not of the installed package;
the tools import it from their own folder (run them by path)."""
from .flops import gflops
from .timing import autocast, device_name, interleaved, ratio_stats, spread, sync, timed


def report(res: dict, table: str, path: str) -> None:
    """Print a benchmark's table, write its JSON to ``path`` and say where."""
    import json
    print(table)
    with open(path, 'w') as f:
        json.dump(res, f, indent=2)
    print(f'written: {path}')


__all__ = ['autocast', 'device_name', 'gflops', 'interleaved', 'ratio_stats', 'report', 'spread',
           'sync', 'timed']
