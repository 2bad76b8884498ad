# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The table, JSON and verdict of a study of two arms over training seeds (the CamVid and
refinement studies: a baseline and a model with diffusion), from the runs' test metrics; the
criterion is the study's own, fixed before its runs (tools/studies/)."""
import json
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

from mmseg_difnet.datasets import CamVidDataset

from .study_results import finished_runs, merge_earlier_runs
from .study_statistics import fmt_mean_std, mean_std, verdict

STAGES = ('x', 's', 'y1', 'y2', 'y3', 'y4', 'y5')
RADII = (2, 5, 10)


def two_arm_study_table(study_dir: str, models: Sequence[Tuple[str, str]], criterion: str,
                        json_path: Optional[str] = None, seconds: Optional[int] = None,
                        extra: Optional[Dict] = None, paired: bool = False,
                        required: Optional[int] = None,
                        classes: Sequence[str] = CamVidDataset.METAINFO['classes']) -> str:
    """The study's tables (markdown) and JSON: ``models`` are (name, run prefix) of the
    baseline and of the model with diffusion, compared by ``criterion``; ``extra`` is merged
    into the JSON. ``paired``: the verdict compares the mean per-seed difference with twice
    its standard error (the unpaired rule is reported beside it); ``required``: the number
    of seed pairs the design has: with fewer finished, the tables are written but no
    verdict."""
    (base_name, base), (name_d, dif) = models
    runs = merge_earlier_runs(finished_runs(study_dir, [base, dif], with_walks=[dif]),
                              json_path)
    seeds = sorted(set(runs.get(base, {})) & set(runs.get(dif, {})))
    if not seeds:
        raise FileNotFoundError(f'no finished pair of runs under {study_dir!r}: run the '
                                'study script first')

    def get(model: str, key: str) -> List[float]:
        return [runs[model][s][key] for s in seeds]

    keys = ['mIoU', *(f'mIoU_band{r}' for r in RADII), 'mAcc', 'aAcc']
    rows = [f'{len(seeds)} training seeds ({", ".join(seeds)}), test set (233 frames), '
            'mean ± sample std', '',
            '| Method | mIoU | mIoU ≤2 px | mIoU ≤5 px | mIoU ≤10 px | mAcc | aAcc |',
            '|---|---:|---:|---:|---:|---:|---:|']
    for name, m in models:
        rows.append(f'| {name} | ' + ' | '.join(fmt_mean_std(get(m, k)) for k in keys) + ' |')
    out: Dict = dict(criterion=criterion, seeds=seeds, runs=runs,
                     summary={m: {k: mean_std(get(m, k)) for k in keys} for _, m in models},
                     **(extra or {}))
    diff = {k: [a - b for a, b in zip(get(dif, k), get(base, k))] for k in keys}
    rows += ['', f'{name_d} − {base_name} per seed: mIoU ' + ', '.join(
        f'{v:+.2f}' for v in diff['mIoU'])
             + '; ≤2 px ' + ', '.join(f'{v:+.2f}' for v in diff['mIoU_band2'])]
    rows += ['', 'Per class (IoU, mean over seeds):', '',
             '| Method | ' + ' | '.join(classes) + ' |', '|---|' + '---:|' * len(classes)]
    for name, m in models:
        rows.append(f'| {name} | ' + ' | '.join(
            f'{statistics.mean(get(m, f"IoU.{c}")):.1f}' for c in classes) + ' |')
    d = runs[dif]
    if all('mIoU_x' in d[s] for s in seeds):
        stages = {k: f'mIoU_{k}' for k in STAGES}
        rows += ['', f'{name_d} per stage (mIoU; in brackets within 2 px of a boundary), mean ± '
                 'std:', '', '| ' + ' | '.join(stages) + ' |', '|' + '---:|' * len(stages),
                 '| ' + ' | '.join(fmt_mean_std([d[s][k] for s in seeds]) for k in stages.values())
                 + ' |',
                 '| ' + ' | '.join('(' + fmt_mean_std([d[s][f'{k}_band2'] for s in seeds]) + ')'
                                   for k in stages.values()) + ' |']
        walk_gain = [d[s]['mIoU_y5'] - d[s]['mIoU_x'] for s in seeds]
        out['y5_minus_x'] = walk_gain
        rows.append('\ny5 − x per seed: ' + ', '.join(f'{v:+.2f}' for v in walk_gain))
    for p in ('mu', 'beta'):
        rows.append(f'{p}_t (mean over seeds): ' + ', '.join(
            f'{statistics.mean(d[s]["walks"][p][t] for s in seeds):.3f}'
            for t in range(len(d[seeds[0]]['walks'][p]))))
    if required is not None and len(seeds) < required:
        out['incomplete'] = f'{len(seeds)} of {required} seed pairs finished: no verdict yet'
        rows.append(f'\nincomplete: {out["incomplete"]} (re-run the study to continue)')
    elif len(seeds) > 1 and paired:
        gain = out.get('output_minus_x', out.get('y5_minus_x'))
        out['verdict'] = dict(mIoU=verdict('paired_se', diff['mIoU'])['verdict'],
                              boundary_2px=verdict('paired_se', diff['mIoU_band2'])['verdict'],
                              walks_vs_x=verdict('paired_se', gain)['verdict'] if gain else None)
        out['verdict_unpaired_rule'] = dict(
            mIoU=verdict('unpaired', get(dif, 'mIoU'), get(base, 'mIoU'))['verdict'],
            boundary_2px=verdict('unpaired', get(dif, 'mIoU_band2'),
                                 get(base, 'mIoU_band2'))['verdict'])
        for k in ('mIoU', 'mIoU_band2'):
            m, se = statistics.mean(diff[k]), statistics.stdev(diff[k]) / len(seeds) ** 0.5
            rows.append(f'paired {k}: mean {m:+.2f}, 2·SE {2 * se:.2f}')
        rows.append('\nverdict by the paired criterion: ' + ', '.join(
            f'{k} {v}' for k, v in out['verdict'].items()) + '; by the first study\'s '
            'unpaired rule: ' + ', '.join(f'{k} {v}' for k, v in
                                          out['verdict_unpaired_rule'].items()))
    elif len(seeds) > 1:
        out['verdict'] = dict(
            mIoU=verdict('unpaired', get(dif, 'mIoU'), get(base, 'mIoU'))['verdict'],
            boundary_2px=verdict('unpaired', get(dif, 'mIoU_band2'),
                                 get(base, 'mIoU_band2'))['verdict'],
            walks_y5_vs_x=verdict('paired', out['y5_minus_x'])['verdict'] if 'y5_minus_x' in out
            else None)
        rows.append('\nverdict by the criterion: ' + ', '.join(
            f'{k} {v}' for k, v in out['verdict'].items()))
    out['difference'] = diff
    if seconds is not None:
        out['wall_seconds'] = seconds
        rows.append(f'wall time of the study: {seconds // 60} min {seconds % 60} s')
    if json_path:
        with open(json_path, 'w') as f:
            json.dump(out, f, indent=2)
        rows.append(f'written: {json_path}')
    return '\n'.join(rows)
