"""Print the demo's side-by-side table from the metrics that `mim test` wrote.

    python tools/demo_table.py work_dirs/demo [--seconds N]
"""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, Optional

MODELS = (('DeepLabV2 (Sim-Deeplab)', 'deeplabv2'), ('DifNet', 'difnet'))


def latest_test_metrics(test_dir: str) -> Dict[str, float]:
    """The metrics of the newest ``<timestamp>/<timestamp>.json`` under ``test_dir``."""
    files = sorted(f for f in glob.glob(osp.join(test_dir, '*', '*.json'))
                   if osp.basename(osp.dirname(f)) == osp.splitext(osp.basename(f))[0])
    if not files:
        raise FileNotFoundError(f'no test metrics (<timestamp>/<timestamp>.json) under '
                                f'{test_dir!r}: did the test run finish?')
    with open(files[-1]) as f:
        return json.load(f)


def demo_table(work_dir: str, seconds: Optional[int] = None) -> str:
    rows = ['| Method | Backbone | mIoU | mAcc | aAcc |', '|---|---|---|---|---|']
    for name, sub in MODELS:
        m = latest_test_metrics(osp.join(work_dir, sub, 'test'))
        rows.append(f'| {name} | R-18 | {m["mIoU"]:.2f} | {m["mAcc"]:.2f} | '
                    f'{m["aAcc"]:.2f} |')
    if seconds is not None:
        rows.append(f'\nwall time of the demo: {seconds // 60} min {seconds % 60} s')
    return '\n'.join(rows)



def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', help='the demo work dir (one sub-dir per model)')
    parser.add_argument('--seconds', type=int, help='wall time of the demo, to print')
    args = parser.parse_args()
    print(demo_table(args.work_dir, seconds=args.seconds))


if __name__ == '__main__':
    main()
