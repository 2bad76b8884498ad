"""Tables and JSON of the CamVid study (tools/studies/camvid_study.sh), from the metrics
tools/test.py
wrote for each run, with the verdict of the criterion stated before the runs.

    python tools/studies/camvid_table.py work_dirs/camvid_study
        [--json benchmarks/camvid_study.json]
"""
import argparse
import glob
import json
import os.path as osp
import statistics
from typing import Dict, List, Optional

from demo_table import latest_test_metrics

from mmseg_difnet.datasets import CamVidDataset
from mmseg_difnet.visualization import walk_params_from_checkpoint

MODELS = (('DeepLabV2-MV2 (Sim-Deeplab)', 'deeplabv2'), ('DifNet-MV2', 'difnet'))
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FIRST_STUDY = osp.join(ROOT, 'benchmarks', 'camvid_study.json')
STAGES = ('x', 's', 'y1', 'y2', 'y3', 'y4', 'y5')
RADII = (2, 5, 10)
CLASSES = CamVidDataset.METAINFO['classes']
CRITERION = (
    'Fixed before the runs. Over 3 training seeds: (1) DifNet-MV2 beats DeepLabV2-MV2 if its '
    'mean test mIoU is higher by more than twice the larger of the two sample stds; (2) the '
    "paper's boundary claim holds if the same rule holds for the mIoU within 2 px of a label "
    'boundary (band2); (3) inside DifNet the walks help if y5 - x (mIoU of the output minus '
    'that of the score map) is positive by more than twice its std over seeds. A difference '
    'in the other direction by the same margin is a negative result; anything else is null.')


CRITERION_PAIRED = (
    'Fixed before the runs (2026-11-30, docs/studies/camvid.md, "Round two"). Training seeds 3 '
    'to 8, the first study\'s design otherwise; for each seed the paired difference d = '
    'DifNet-MV2 - DeepLabV2-MV2 (same seed: same data order and seed-branch start). (1) '
    'DifNet-MV2 beats DeepLabV2-MV2 if the mean d in test mIoU exceeds twice its standard '
    'error (sample std / sqrt(6)); (2) the boundary claim holds if the same holds for the '
    'mIoU within 2 px of a label boundary; (3) the walks help if y5 - x (DifNet-MV2) exceeds '
    'twice its standard error. The same margin the other way is a negative result; anything '
    'else is null. The first study\'s three pairs are reported beside it, not pooled.')


def _ms(values: List[float]) -> Dict[str, float]:
    return dict(mean=statistics.mean(values),
                std=statistics.stdev(values) if len(values) > 1 else float('nan'))


def _fmt(values: List[float]) -> str:
    m = _ms(values)
    return f'{m["mean"]:.2f} ± {m["std"]:.2f}'


def _verdict(a: List[float], b: List[float]) -> str:
    """'positive' if mean(a) - mean(b) > 2 max(std), 'negative' if < -2 max(std), else null."""
    d = statistics.mean(a) - statistics.mean(b)
    margin = 2 * max(statistics.stdev(a), statistics.stdev(b))
    return 'positive' if d > margin else 'negative' if d < -margin else 'null'


def _paired_verdict(diff: List[float]) -> str:
    d, margin = statistics.mean(diff), 2 * statistics.stdev(diff)
    return 'positive' if d > margin else 'negative' if d < -margin else 'null'


def _se_verdict(diff: List[float]) -> str:
    """'positive' if the mean paired difference exceeds twice its standard error
    (std / √n), 'negative' if it is below minus that, else 'null'."""
    d = statistics.mean(diff)
    margin = 2 * statistics.stdev(diff) / len(diff) ** 0.5
    return 'positive' if d > margin else 'negative' if d < -margin else 'null'


def collect(study_dir: str, models=MODELS) -> Dict[str, Dict[str, Dict]]:
    """Test metrics of every finished ``<model>_seed<N>`` run; μ_t, β_t of the second model's
    (the one with diffusion)."""
    runs: Dict[str, Dict[str, Dict]] = {}
    for _, model in models:
        for d in sorted(glob.glob(osp.join(study_dir, f'{model}_seed*'))):
            if not osp.isfile(osp.join(d, 'done')):
                continue
            seed = d.rsplit('_seed', 1)[1]
            res = latest_test_metrics(osp.join(d, 'test'))
            if model == models[1][1]:
                with open(osp.join(d, 'last_checkpoint')) as f:
                    res['walks'] = walk_params_from_checkpoint(f.read().strip())
            runs.setdefault(model, {})[seed] = res
    return runs


def study_table(study_dir: str, json_path: Optional[str] = None,
                seconds: Optional[int] = None, models=MODELS, criterion: str = CRITERION,
                extra: Optional[Dict] = None, paired: bool = False,
                walk_key: str = 'mIoU_y5', required: Optional[int] = None) -> str:
    """The study's tables (markdown) and JSON: ``models`` are (name, run prefix) of the
    baseline and of the model with diffusion, compared by ``criterion``; ``extra`` is merged
    into the JSON. ``paired``: the verdict compares the mean per-seed difference with twice
    its standard error (the unpaired rule is reported beside it); ``walk_key``: the metric
    whose difference from x says what the walks add (y5, or the refinement mode's output);
    ``required``: the number of seed pairs the design has: with fewer finished, the tables
    are written but no verdict."""
    (base_name, base), (name_d, dif) = models
    runs = collect(study_dir, models)
    if json_path and osp.isfile(json_path):  # runs finished earlier, elsewhere (a study that
        with open(json_path) as f:  # spans sessions): kept where this dir lacks them
            for model, by_seed in json.load(f).get('runs', {}).items():
                for seed, res in by_seed.items():
                    runs.setdefault(model, {}).setdefault(seed, res)
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
        rows.append(f'| {name} | ' + ' | '.join(_fmt(get(m, k)) for k in keys) + ' |')
    out: Dict = dict(criterion=criterion, seeds=seeds, runs=runs,
                     summary={m: {k: _ms(get(m, k)) for k in keys} for _, m in models},
                     **(extra or {}))
    diff = {k: [a - b for a, b in zip(get(dif, k), get(base, k))] for k in keys}
    rows += ['', f'{name_d} − {base_name} per seed: mIoU ' + ', '.join(
        f'{v:+.2f}' for v in diff['mIoU'])
             + '; ≤2 px ' + ', '.join(f'{v:+.2f}' for v in diff['mIoU_band2'])]
    rows += ['', 'Per class (IoU, mean over seeds):', '',
             '| Method | ' + ' | '.join(CLASSES) + ' |', '|---|' + '---:|' * len(CLASSES)]
    for name, m in models:
        rows.append(f'| {name} | ' + ' | '.join(
            f'{statistics.mean(get(m, f"IoU.{c}")):.1f}' for c in CLASSES) + ' |')
    d = runs[dif]
    if all('mIoU_x' in d[s] for s in seeds):
        stages = {k: f'mIoU_{k}' for k in STAGES}
        if walk_key == 'mIoU':  # the refinement mode: its output is not y5
            stages['output'] = 'mIoU'
        rows += ['', f'{name_d} per stage (mIoU; in brackets within 2 px of a boundary), mean ± '
                 'std:', '', '| ' + ' | '.join(stages) + ' |', '|' + '---:|' * len(stages),
                 '| ' + ' | '.join(_fmt([d[s][k] for s in seeds]) for k in stages.values())
                 + ' |',
                 '| ' + ' | '.join('(' + _fmt([d[s][f'{k}_band2'] for s in seeds]) + ')'
                                   for k in stages.values()) + ' |']
        walk_gain = [d[s][walk_key] - d[s]['mIoU_x'] for s in seeds]
        gain_name = 'y5' if walk_key == 'mIoU_y5' else 'output'
        out[f'{gain_name}_minus_x'] = walk_gain
        rows.append(f'\n{gain_name} − x per seed: ' + ', '.join(f'{v:+.2f}' for v in walk_gain))
    if all('gate' in d[s]['walks'] for s in seeds):
        rows.append('alpha per seed: ' + ', '.join(f'{d[s]["walks"]["gate"]:.3f}'
                                                    for s in seeds))
    for p in ('mu', 'beta'):
        rows.append(f'{p}_t (mean over seeds): ' + ', '.join(
            f'{statistics.mean(d[s]["walks"][p][t] for s in seeds):.3f}'
            for t in range(len(d[seeds[0]]['walks'][p]))))
    if required is not None and len(seeds) < required:
        out['incomplete'] = f'{len(seeds)} of {required} seed pairs finished: no verdict yet'
        rows.append(f'\nincomplete: {out["incomplete"]} (re-run the study to continue)')
    elif len(seeds) > 1 and paired:
        gain = out.get('output_minus_x', out.get('y5_minus_x'))
        out['verdict'] = dict(mIoU=_se_verdict(diff['mIoU']),
                              boundary_2px=_se_verdict(diff['mIoU_band2']),
                              walks_vs_x=_se_verdict(gain) if gain else None)
        out['verdict_unpaired_rule'] = dict(
            mIoU=_verdict(get(dif, 'mIoU'), get(base, 'mIoU')),
            boundary_2px=_verdict(get(dif, 'mIoU_band2'), get(base, 'mIoU_band2')))
        for k in ('mIoU', 'mIoU_band2'):
            m, se = statistics.mean(diff[k]), statistics.stdev(diff[k]) / len(seeds) ** 0.5
            rows.append(f'paired {k}: mean {m:+.2f}, 2·SE {2 * se:.2f}')
        rows.append('\nverdict by the paired criterion: ' + ', '.join(
            f'{k} {v}' for k, v in out['verdict'].items()) + '; by the first study\'s '
            'unpaired rule: ' + ', '.join(f'{k} {v}' for k, v in
                                          out['verdict_unpaired_rule'].items()))
    elif len(seeds) > 1:
        out['verdict'] = dict(
            mIoU=_verdict(get(dif, 'mIoU'), get(base, 'mIoU')),
            boundary_2px=_verdict(get(dif, 'mIoU_band2'), get(base, 'mIoU_band2')),
            walks_y5_vs_x=_paired_verdict(out['y5_minus_x']) if 'y5_minus_x' in out
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('study_dir', help='the study dir (<model>_seed<N>/ run dirs)')
    parser.add_argument('--json', help='write the numbers here')
    parser.add_argument('--seconds', type=int, help='wall time of the study, to record')
    parser.add_argument('--paired', action='store_true',
                        help='round two: the paired criterion (mean difference vs 2 SE)')
    args = parser.parse_args()
    if args.paired:  # the design's six pairs (seeds 3-8); the first study's beside them
        with open(FIRST_STUDY) as f:
            first = json.load(f)
        first = dict(seeds=first['seeds'], difference=first['difference'],
                     y5_minus_x=first['y5_minus_x'])
        print(study_table(args.study_dir, args.json, args.seconds,
                          criterion=CRITERION_PAIRED, extra=dict(first_study=first),
                          paired=True, required=6))
        print(f'first study (benchmarks/camvid_study.json, seeds {", ".join(first["seeds"])}, '
              'not pooled): '
              'DifNet - DeepLabV2 per seed: mIoU ' + ', '.join(
                  f'{v:+.2f}' for v in first['difference']['mIoU']) + '; ≤2 px ' + ', '.join(
                  f'{v:+.2f}' for v in first['difference']['mIoU_band2']) + '; y5 - x '
              + ', '.join(f'{v:+.2f}' for v in first['y5_minus_x']))
    else:
        print(study_table(args.study_dir, args.json, args.seconds))


if __name__ == '__main__':
    main()
