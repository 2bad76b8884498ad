"""Tables of the demo and of the multi-seed study, from the metrics that `mim test` wrote.

    python tools/studies/demo_table.py work_dirs/demo [--seconds N]
    python tools/studies/demo_table.py --study work_dirs/demo_study
        [--json benchmarks/demo_study.json]
"""
import argparse
import glob
import json
import os.path as osp
import statistics
from typing import Dict, List, Optional

from study_lib import fmt_mean_std, latest_test_metrics

from mmseg_difnet.checkpoint import walk_params_from_checkpoint

MODELS = (('DeepLabV2 (Sim-Deeplab)', 'deeplabv2'), ('DifNet', 'difnet'))
STAGES = ('x', 's', 'y1', 'y2', 'y3', 'y4', 'y5')


def walk_params(work_dir: str) -> Dict[str, List[float]]:
    """μ_t and β_t of the DifNet checkpoint of a demo run."""
    ckpt = sorted(glob.glob(osp.join(work_dir, 'difnet', 'iter_*.pth')))[-1]
    return walk_params_from_checkpoint(ckpt)


def run_results(work_dir: str) -> Dict:
    res = {sub: latest_test_metrics(osp.join(work_dir, sub, 'test')) for _, sub in MODELS}
    res['walks'] = walk_params(work_dir)
    return res


def demo_table(work_dir: str, seconds: Optional[int] = None) -> str:
    res = run_results(work_dir)
    rows = ['| Method | Backbone | mIoU | mAcc | aAcc |', '|---|---|---|---|---|']
    for name, sub in MODELS:
        m = res[sub]
        rows.append(f'| {name} | R-18 (half width) | {m["mIoU"]:.2f} | {m["mAcc"]:.2f} | '
                    f'{m["aAcc"]:.2f} |')
    d = res['difnet']
    if 'mIoU_x' in d:
        rows += ['', 'DifNet per stage (mIoU): score map x, seed s, output y_t of each walk', '',
                 '| ' + ' | '.join(STAGES) + ' |', '|' + '---:|' * len(STAGES),
                 '| ' + ' | '.join(f'{d[f"mIoU_{k}"]:.2f}' for k in STAGES) + ' |']
    w = res['walks']
    rows += ['', 'μ_t: ' + ', '.join(f'{v:.3f}' for v in w['mu']),
             'β_t: ' + ', '.join(f'{v:.3f}' for v in w['beta'])]
    if seconds is not None:
        rows.append(f'\nwall time of the demo: {seconds // 60} min {seconds % 60} s')
    return '\n'.join(rows)


def demo_study_table(study_dir: str, json_path: Optional[str] = None) -> str:
    runs = {osp.basename(d): run_results(d)
            for d in sorted(glob.glob(osp.join(study_dir, 'seed*')))}
    if not runs:
        raise FileNotFoundError(f'no seed*/ runs under {study_dir!r}: '
                                'run tools/studies/demo_study.sh')
    diff = [r['difnet']['mIoU'] - r['deeplabv2']['mIoU'] for r in runs.values()]
    out = dict(seeds=list(runs), runs=runs,
               difnet_mIoU=[r['difnet']['mIoU'] for r in runs.values()],
               deeplabv2_mIoU=[r['deeplabv2']['mIoU'] for r in runs.values()],
               difference=diff)
    rows = [f'{len(runs)} seeds ({", ".join(runs)}), mean ± std (sample std)', '',
            '| Method | mIoU | mAcc | aAcc |', '|---|---|---|---|']
    for name, sub in MODELS:
        rows.append(f'| {name} | ' + ' | '.join(
            fmt_mean_std([r[sub][k] for r in runs.values()])
            for k in ('mIoU', 'mAcc', 'aAcc')) + ' |')
    rows += ['', f'DifNet − DeepLabV2 mIoU per seed: {", ".join(f"{v:+.2f}" for v in diff)} '
             f'(mean {fmt_mean_std(diff)})']
    if all('mIoU_x' in r['difnet'] for r in runs.values()):
        rows += ['', 'DifNet per stage (mIoU, mean ± std):', '',
                 '| ' + ' | '.join(STAGES) + ' |', '|' + '---:|' * len(STAGES),
                 '| ' + ' | '.join(fmt_mean_std([r['difnet'][f'mIoU_{k}'] for r in runs.values()])
                                   for k in STAGES) + ' |']
    for p in ('mu', 'beta'):
        rows.append(f'{p}_t (mean over seeds): ' + ', '.join(
            f'{statistics.mean(r["walks"][p][t] for r in runs.values()):.3f}'
            for t in range(5)))
    if json_path:
        with open(json_path, 'w') as f:
            json.dump(out, f, indent=2)
        rows.append(f'\nwritten: {json_path}')
    return '\n'.join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', nargs='?', help='a demo work dir (one sub-dir per model)')
    parser.add_argument('--seconds', type=int, help='wall time of the demo, to print')
    parser.add_argument('--study', help='a study dir (seed*/ demo work dirs)')
    parser.add_argument('--json', help='with --study: write the numbers here')
    args = parser.parse_args()
    if args.study:
        print(demo_study_table(args.study, args.json))
    else:
        print(demo_table(args.work_dir, seconds=args.seconds))


if __name__ == '__main__':
    main()
