"""Print μ_t and β_t of every walk (the paper's Table 3) from a DifNet checkpoint alone.

    python tools/analysis_tools/print_walk_params.py CHECKPOINT
"""
import argparse

from mmseg_difnet.checkpoint import walk_params_from_checkpoint
from mmseg_difnet.visualization import format_table3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint')
    args = parser.parse_args()
    params = walk_params_from_checkpoint(args.checkpoint)
    print(format_table3(params['mu'], params['beta']))


if __name__ == '__main__':
    main()
