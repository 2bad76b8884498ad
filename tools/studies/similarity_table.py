"""Tables and JSON of the similarity study (round three;
tools/studies/similarity_study.sh, docs/studies/similarity.md), from the metrics
tools/test.py wrote for each run, with the verdicts of the criterion fixed before the runs.

    python tools/studies/similarity_table.py work_dirs/similarity_study
        [--json benchmarks/similarity_study.json]
"""
import argparse
import glob
import json
import os.path as osp
import statistics
from typing import Dict, List, Optional

from study_lib import (
    finished_runs,
    fmt_mean_std,
    latest_test_metrics,
    merge_earlier_runs,
    verdict,
)

from mmseg_difnet.datasets import CamVidDataset

ARMS = (('DeepLabV2-MV2 (Sim-Deeplab)', 'deeplabv2'), ('DifNet-MV2 (paper)', 'difnet'),
        ('DifNet-MV2 taught (affinity loss)', 'taught'))
COMPARISONS = (('taught', 'deeplabv2'), ('difnet', 'deeplabv2'), ('taught', 'difnet'))
REQUIRED = 6  # seeds 3-8, fixed in the design
CLASSES = CamVidDataset.METAINFO['classes']
KEYS = ('mIoU', 'mIoU_band2', 'mIoU_band5', 'mIoU_band10', 'mAcc', 'aAcc')
STAGES = ('x', 's', 'y1', 'y2', 'y3', 'y4', 'y5')
CRITERION = (
    'Fixed before the runs (docs/studies/similarity.md). Six seeds (3-8), paired '
    'per seed; for each comparison the per-seed difference d, positive if mean d > 2 SE '
    '(sample std / sqrt(6)), negative if < -2 SE, else null: (1) taught - DeepLabV2, (2) '
    'paper - DeepLabV2, (3) taught - paper, each in test mIoU and in mIoU within 2 px of a '
    'label boundary; (4) y5 - x of each diffusion arm; (5) the taught arm\'s same-class mass '
    'of P_5 on the test frames minus the paper\'s.')


def se_verdict(diff: List[float]) -> Dict[str, float]:
    """Mean, 2·SE and the verdict of the paired rule for per-seed differences."""
    v = verdict('paired_se', diff)
    return dict(mean=v['mean'], two_se=v['margin'], verdict=v['verdict'])


def similarity_study_table(study_dir: str, json_path: Optional[str] = None,
                           seconds: Optional[int] = None) -> str:
    runs = merge_earlier_runs(finished_runs(study_dir, [a for _, a in ARMS],
                                            with_walks=['difnet', 'taught']), json_path)
    arms = [(n, a) for n, a in ARMS if runs.get(a)]
    if not arms:
        raise FileNotFoundError(f'no finished run under {study_dir!r}: run the study first')
    rows = ['| Method | seeds | ' + ' | '.join(KEYS) + ' |', '|---|---|' + '---:|' * len(KEYS)]
    for name, a in arms:
        seeds = sorted(runs[a])
        rows.append(f'| {name} | {",".join(seeds)} | ' + ' | '.join(
            fmt_mean_std([runs[a][s][k] for s in seeds]) for k in KEYS) + ' |')
    out: Dict = dict(criterion=CRITERION, runs=runs, comparisons={})
    rows += ['', 'Per class (IoU, mean over seeds):', '',
             '| Method | ' + ' | '.join(CLASSES) + ' |', '|---|' + '---:|' * len(CLASSES)]
    for name, a in arms:
        rows.append(f'| {name} | ' + ' | '.join(
            f'{statistics.mean(r[f"IoU.{c}"] for r in runs[a].values()):.1f}'
            for c in CLASSES) + ' |')
    for a in ('difnet', 'taught'):
        if not runs.get(a):
            continue
        r = runs[a]
        seeds = sorted(r)
        rows += ['', f'{a}: per stage mIoU (mean ± std): ' + ', '.join(
            f'{k} {fmt_mean_std([r[s][f"mIoU_{k}"] for s in seeds])}' for k in STAGES)]
        if all('sim_same_P1' in r[s] for s in seeds):
            T = sum(1 for k in r[seeds[0]] if k.startswith('sim_same_P') and '.' not in k)
            rows += ['', f'{a}: similarity score on the test frames (mean over seeds)', '',
                     '| P | same | chance | lift | self | ' + ' | '.join(CLASSES) + ' |',
                     '|---|' + '---:|' * (4 + len(CLASSES))]
            for t in range(1, T + 1):
                cell = [statistics.mean(r[s][f'sim_{k}_P{t}'] for s in seeds)
                        for k in ('same', 'chance', 'lift', 'self')]
                per = [statistics.mean(r[s][f'sim_same_P{t}.{c}'] for s in seeds)
                       for c in CLASSES]
                rows.append(f'| P_{t} | ' + ' | '.join(f'{v:.3f}' for v in cell) + ' | '
                            + ' | '.join(f'{v:.2f}' for v in per) + ' |')
        rows.append(f'{a}: mu_t ' + ', '.join(
            f'{statistics.mean(r[s]["walks"]["mu"][t] for s in seeds):.3f}' for t in range(5))
            + '; beta_t ' + ', '.join(
            f'{statistics.mean(r[s]["walks"]["beta"][t] for s in seeds):.3f}'
            for t in range(5)))
    complete = all(len(runs.get(a, {})) >= REQUIRED for _, a in ARMS)
    rows.append('')
    for a, b in COMPARISONS:
        seeds = sorted(set(runs.get(a, {})) & set(runs.get(b, {})))
        if not seeds:
            continue
        comp = {'seeds': seeds}
        for k in ('mIoU', 'mIoU_band2'):
            d = [runs[a][s][k] - runs[b][s][k] for s in seeds]
            comp[k] = dict(per_seed=d, **se_verdict(d))
        if a == 'taught' and b == 'difnet' and all(
                'sim_same_P5' in runs[x][s] for x in (a, b) for s in seeds):
            d = [runs[a][s]['sim_same_P5'] - runs[b][s]['sim_same_P5'] for s in seeds]
            comp['sim_same_P5'] = dict(per_seed=d, **se_verdict(d))
        if not complete:
            for v in comp.values():
                if isinstance(v, dict):
                    v['verdict'] = None
        out['comparisons'][f'{a}-{b}'] = comp
        rows.append(f'{a} − {b} (seeds {",".join(seeds)}): ' + '; '.join(
            f'{k} ' + ', '.join(f'{x:+.2f}' for x in v['per_seed'])
            + f' (mean {v["mean"]:+.2f}, 2·SE {v["two_se"]:.2f}, verdict {v["verdict"]})'
            for k, v in comp.items() if isinstance(v, dict)))
    for a in ('difnet', 'taught'):
        if runs.get(a):
            seeds = sorted(runs[a])
            d = [runs[a][s]['mIoU_y5'] - runs[a][s]['mIoU_x'] for s in seeds]
            out[f'{a}_y5_minus_x'] = dict(per_seed=d, **se_verdict(d))
            if not complete:
                out[f'{a}_y5_minus_x']['verdict'] = None
            rows.append(f'{a} y5 − x: ' + ', '.join(f'{x:+.2f}' for x in d))
    if not complete:
        n = min(len(runs.get(a, {})) for _, a in ARMS)
        out['incomplete'] = (f'{n} of {REQUIRED} seed triples finished: no verdict yet '
                             '(re-run make study-similarity to continue)')
        rows.append(f'\nincomplete: {out["incomplete"]}')
    if seconds is not None:
        out['wall_seconds_last_call'] = seconds
    if json_path:
        with open(json_path, 'w') as f:
            json.dump(out, f, indent=2)
        rows.append(f'written: {json_path}')
    return '\n'.join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('study_dir', help='the study dir (<arm>_seed<N>/ run dirs)')
    parser.add_argument('--json', help='write the numbers here')
    parser.add_argument('--seconds', type=int, help='wall time of this call, to record')
    parser.add_argument('--pilot', action='store_true',
                        help='the pilots (tools/studies/similarity_pilot.sh): val numbers of '
                        'each finished *_seed100 run, no table')
    args = parser.parse_args()
    if args.pilot:
        pilots = {}
        for d in sorted(glob.glob(osp.join(args.study_dir, '*_seed100'))):
            if not osp.isfile(osp.join(d, 'done')):
                continue
            m = pilots[osp.basename(d)] = latest_test_metrics(osp.join(d, 'test'))
            print(d, 'val mIoU', m['mIoU'], 'x', m['mIoU_x'], 'same-class mass P1..P5',
                  [m[f'sim_same_P{t}'] for t in range(1, 6)])
        if args.json:  # the val metrics of each pilot run, as tools/test.py wrote them
            with open(args.json, 'w') as f:
                json.dump(dict(split='val', runs=pilots), f, indent=2)
            print(f'written: {args.json}')
        return
    print(similarity_study_table(args.study_dir, args.json, args.seconds))


if __name__ == '__main__':
    main()
