"""Print the demo's side-by-side table from the metrics that `mim test` wrote.

    python tools/demo_table.py work_dirs/demo [--seconds N]
"""
import argparse

from mmseg_difnet.utils.report import demo_table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', help='the demo work dir (one sub-dir per model)')
    parser.add_argument('--seconds', type=int, help='wall time of the demo, to print')
    args = parser.parse_args()
    print(demo_table(args.work_dir, seconds=args.seconds))


if __name__ == '__main__':
    main()
