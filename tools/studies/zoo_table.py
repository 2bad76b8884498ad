"""Tables, JSON, verdicts and plot of the zoo study (tools/studies/zoo_study.sh,
docs/studies/zoo.md): mmseg's heads against DeepLabV2-MV2 and DifNet-MV2 of the similarity
study (same recipe, same seeds), by the criterion fixed before the first test number.

    python tools/studies/zoo_table.py STUDY_DIR [--json benchmarks/camvid_zoo.json]
        [--cost benchmarks/camvid_zoo_cost.json] [--plot PNG] [--model-zoo]
        [--metafile configs/zoo/metafile.yaml]
    python tools/studies/zoo_table.py PILOT_DIR --pilot [--json benchmarks/camvid_zoo_pilot.json]
"""
import argparse
import json
import os.path as osp
import statistics
from typing import Dict, List, Optional

from study_lib import (
    against_spread,
    finished_runs,
    fmt_mean_std,
    mean_std,
    merge_earlier_runs,
    verdict,
)

from mmseg_difnet.datasets import CamVidDataset

HEADS = (('FCN', 'fcn'), ('PSPNet', 'pspnet'), ('DeepLabV3', 'deeplabv3'),
         ('DeepLabV3+', 'deeplabv3plus'), ('NonLocal', 'nonlocal'), ('CCNet', 'ccnet'))
BASELINES = (('DeepLabV2-MV2', 'deeplabv2'), ('DifNet-MV2', 'difnet'))
NAMES = dict((a, n) for n, a in BASELINES + HEADS)
# The second pilot's variants (PILOT=2): FCN without one of the pieces every zoo head shares and
# DeepLabV2's single classifier lacks.
PILOT_VARIANTS = (('FCN, no auxiliary head', 'fcn-noaux'), ('FCN, no dropout', 'fcn-nodrop'))
SEEDS = ('3', '4', '5')  # fixed in the design (docs/studies/zoo.md)
LONG_SEED = '3'
CLASSES = CamVidDataset.METAINFO['classes']
KEYS = ('mIoU', 'mIoU_band2', 'mIoU_band5', 'mIoU_band10', 'mAcc', 'aAcc')
VERDICT_KEYS = ('mIoU', 'mIoU_band2')
SIMILARITY_JSON = osp.join('benchmarks', 'similarity_study.json')
CRITERION = (
    'Fixed before the first test number (docs/studies/zoo.md). Seeds 3, 4, 5 of every zoo head '
    '(configs/zoo/), paired per seed with DifNet-MV2 of benchmarks/similarity_study.json (same '
    'recipe, seeds and data order). For each head the per-seed difference d = DifNet-MV2 - '
    'head, in test mIoU and in mIoU within 2 px of a label boundary: positive (DifNet ahead) if '
    'mean d > 2 SE (sample std / sqrt(3)), negative (the head ahead) if mean d < -2 SE, else '
    'null. No verdict before every seed of both is in.')
# The 4,000-iteration check's reading, written 2026-12-07 before any 4,000-iteration number
# but DeepLabV2-MV2's (docs/studies/zoo.md).
LONG_CRITERION = (
    'Written before any 4,000-iteration number but DeepLabV2-MV2\'s (docs/studies/zoo.md). '
    'One seed (3) of every model at 4,000 iterations, the same poly policy. For every other '
    'model, d4 = DifNet-MV2 - model at 4,000 iterations (test mIoU, and mIoU within 2 px of a '
    'label boundary) is read against the paired differences d of the 2,000-iteration runs, '
    'seeds 3-5: "as at 2k" if d4 lies within mean(d) +- 2 sample std(d) (what one more seed '
    'would give), "toward the model" if below, "toward DifNet" if above. The 2,000-iteration '
    'ranking is one of models if every model reads "as at 2k" in mIoU, else partly one of '
    'learning speed (the models that moved named). A zoo head learns pole or bicyclist (IoU 0.0 '
    'at every 2,000-iteration seed) if its 4,000-iteration IoU on it is at least 1.0. No '
    'reading before all eight runs are in.')
LONG_CLASSES, LONG_LEARNED_IOU = ('pole', 'bicyclist'), 1.0
SPREAD_WORDS = dict(below='toward the model', within='as at 2k', above='toward DifNet')
# The pilot's rule, fixed before it ran (docs/studies/zoo.md, "Pilot"): a head is flagged on a
# class where DeepLabV2-MV2's val IoU is at least PILOT_MIN_IOU and the head's below
# PILOT_FRACTION of it, or when its val mIoU is more than PILOT_MIOU_GAP below DeepLabV2-MV2's.
PILOT_MIN_IOU, PILOT_FRACTION, PILOT_MIOU_GAP = 10.0, 0.5, 3.0

Runs = Dict[str, Dict[str, Dict]]


def baseline_runs(similarity_json: str) -> Runs:
    """DeepLabV2-MV2 and DifNet-MV2 at the design's seeds, from the similarity study."""
    if not osp.isfile(similarity_json):
        raise FileNotFoundError(f'{similarity_json!r} is missing: the zoo study pairs its '
                                'heads with the similarity study\'s runs (make study-similarity)')
    with open(similarity_json) as f:
        runs = json.load(f)['runs']
    return {a: {s: runs[a][s] for s in SEEDS if s in runs.get(a, {})} for _, a in BASELINES}


def _row(name: str, runs: Dict[str, Dict], keys=KEYS) -> str:
    seeds = sorted(runs)
    return f'| {name} | {",".join(seeds)} | ' + ' | '.join(
        fmt_mean_std([runs[s][k] for s in seeds]) for k in keys) + ' |'


def _class_row(name: str, runs: Dict[str, Dict]) -> str:
    return f'| {name} | ' + ' | '.join(
        f'{statistics.mean(r[f"IoU.{c}"] for r in runs.values()):.1f}' for c in CLASSES) + ' |'


def comparisons(runs: Runs) -> Dict[str, Dict]:
    """DifNet-MV2 − head per seed, mean, 2·SE and verdict (None before every seed is in)."""
    out = {}
    for _, head in HEADS:
        seeds = sorted(set(runs.get('difnet', {})) & set(runs.get(head, {})))
        if not seeds:
            continue
        complete = set(SEEDS) <= set(seeds)
        comp: Dict = dict(seeds=seeds)
        for k in VERDICT_KEYS:
            d = [runs['difnet'][s][k] - runs[head][s][k] for s in seeds]
            v = verdict('paired_se', d)
            comp[k] = dict(per_seed=d, mean=v['mean'], two_se=v['margin'],
                           verdict=v['verdict'] if complete else None)
        out[f'difnet-{head}'] = comp
    return out


def long_schedule(study_dir: str, runs: Runs, json_runs: Dict) -> Dict:
    """The 4,000-iteration check: each model's seed-3 run at 4,000 iterations beside its
    2,000-iteration run, with both rankings."""
    arms = [a for _, a in BASELINES + HEADS]
    long = finished_runs(study_dir, [f'{a}_4k' for a in arms])
    for arm, by_seed in json_runs.items():  # kept from earlier sessions
        if arm.endswith('_4k'):
            for s, r in by_seed.items():
                long.setdefault(arm, {}).setdefault(s, r)
    out = {}
    for a in arms:
        r4 = long.get(f'{a}_4k', {}).get(LONG_SEED)
        r2 = runs.get(a, {}).get(LONG_SEED)
        if r4 is not None:
            out[a] = dict(mIoU_2k=r2['mIoU'] if r2 else None, mIoU_4k=r4['mIoU'],
                          mIoU_band2_4k=r4['mIoU_band2'],
                          per_class_4k={c: r4[f'IoU.{c}'] for c in CLASSES},
                          per_class_2k={c: r2[f'IoU.{c}'] for c in CLASSES} if r2 else None)
    for key in ('mIoU_2k', 'mIoU_4k'):
        ranked = sorted((a for a in out if out[a][key] is not None),
                        key=lambda a: -out[a][key])
        for i, a in enumerate(ranked):
            out[a][f'rank_{key[5:]}'] = i + 1
    return out


def long_reading(long: Dict, runs: Runs) -> Optional[Dict]:
    """The 4,000-iteration check read by LONG_CRITERION (None before all eight models are in):
    per model, DifNet-MV2's 4,000-iteration difference against the spread of its paired
    2,000-iteration differences, and whether a zoo head learns the small classes."""
    arms = [a for _, a in BASELINES + HEADS]
    if not all(a in long for a in arms):
        return None
    per_model, moved = {}, []
    for _, a in BASELINES[:1] + HEADS:
        r: Dict = {}
        for k in VERDICT_KEYS:
            d2 = [runs['difnet'][s][k] - runs[a][s][k] for s in SEEDS]
            d4 = long['difnet'][f'{k}_4k'] - long[a][f'{k}_4k']
            spread = against_spread(d4, d2)
            r[k] = dict(spread, reading_words=SPREAD_WORDS[spread['reading']])
        if a != 'deeplabv2':
            r['learns'] = {c: long[a]['per_class_4k'][c] >= LONG_LEARNED_IOU
                           for c in LONG_CLASSES}
        if r['mIoU']['reading'] != 'within':
            moved.append(NAMES[a])
        per_model[a] = r
    ranking = 'of models' if not moved else \
        'partly of learning speed (moved: ' + ', '.join(moved) + ')'
    return dict(criterion=LONG_CRITERION, per_model=per_model, ranking=ranking)


def zoo_table(study_dir: str, json_path: Optional[str] = None,
              similarity_json: str = SIMILARITY_JSON, cost_json: Optional[str] = None,
              seconds: Optional[int] = None) -> Dict:
    """The study's JSON (returned, and written to ``json_path``) with its markdown under
    'table'."""
    heads = [a for _, a in HEADS]
    runs = merge_earlier_runs(finished_runs(study_dir, heads), json_path)
    json_runs = runs
    zoo = {a: runs[a] for a in heads if runs.get(a)}
    both = dict(baseline_runs(similarity_json), **zoo)
    rows = ['Test set (233 frames), seeds ' + ', '.join(SEEDS) + ', mean ± sample std', '',
            '| Method | seeds | ' + ' | '.join(KEYS) + ' |', '|---|---|' + '---:|' * len(KEYS)]
    for name, a in BASELINES + HEADS:
        if both.get(a):
            rows.append(_row(name, both[a]))
    rows += ['', 'Per class (IoU, mean over seeds):', '',
             '| Method | ' + ' | '.join(CLASSES) + ' |', '|---|' + '---:|' * len(CLASSES)]
    for name, a in BASELINES + HEADS:
        if both.get(a):
            rows.append(_class_row(name, both[a]))
    comps = comparisons(both)
    rows.append('')
    for key, comp in comps.items():
        rows.append(f'DifNet-MV2 − {NAMES[key.split("-", 1)[1]]} (seeds {",".join(comp["seeds"])}'
                    '): ' + '; '.join(
                        f'{k} ' + ', '.join(f'{x:+.2f}' for x in comp[k]['per_seed'])
                        + f' (mean {comp[k]["mean"]:+.2f}, 2·SE {comp[k]["two_se"]:.2f}, '
                        f'verdict {comp[k]["verdict"]})' for k in VERDICT_KEYS))
    out: Dict = dict(criterion=CRITERION, seeds=list(SEEDS), runs=zoo,
                     summary={a: {k: mean_std([r[k] for r in both[a].values()]) for k in KEYS}
                              for _, a in BASELINES + HEADS if both.get(a)},
                     comparisons=comps)
    long = long_schedule(study_dir, both, json_runs)
    if long:
        out['long_schedule'] = long
        for a, r in long.items():
            out['runs'].setdefault(f'{a}_4k', {})[LONG_SEED] = dict(
                mIoU=r['mIoU_4k'], mIoU_band2=r['mIoU_band2_4k'],
                **{f'IoU.{c}': v for c, v in r['per_class_4k'].items()})
        rows += ['', f'4,000 iterations, seed {LONG_SEED} (beside the main table, not pooled):',
                 '', '| Method | mIoU 2k | mIoU 4k | rank 2k | rank 4k | '
                 + ' | '.join(CLASSES) + ' (4k) |', '|---|---:|---:|---:|---:|'
                 + '---:|' * len(CLASSES)]
        for name, a in BASELINES + HEADS:
            if a in long:
                r = long[a]
                two = f'{r["mIoU_2k"]:.2f}' if r['mIoU_2k'] is not None else '-'
                rows.append(f'| {name} | {two} | {r["mIoU_4k"]:.2f} | {r.get("rank_2k", "-")} | '
                            f'{r["rank_4k"]} | ' + ' | '.join(
                                f'{r["per_class_4k"][c]:.1f}' for c in CLASSES) + ' |')
        reading = long_reading(long, both)
        if reading is None:
            rows.append(f'\n{len(long)} of {len(BASELINES + HEADS)} models at 4,000 '
                        'iterations: no reading before all are in')
        else:
            out['long_schedule_reading'] = reading
            rows.append('')
            for a, r in reading['per_model'].items():
                learns = r.get('learns')
                rows.append(f'DifNet-MV2 − {NAMES[a]} at 4,000 iterations: ' + '; '.join(
                    f'{k} {r[k]["value"]:+.2f} (2k: {r[k]["low"]:+.2f} to {r[k]["high"]:+.2f}, '
                    f'{r[k]["reading_words"]})' for k in VERDICT_KEYS) + (
                    '; learns ' + ', '.join(f'{c} {"yes" if v else "no"}'
                                            for c, v in learns.items()) if learns else ''))
            rows.append(f'The 2,000-iteration ranking is {reading["ranking"]}.')
    missing = [f'{a}_seed{s}' for _, a in HEADS for s in SEEDS if s not in zoo.get(a, {})]
    if missing:
        out['incomplete'] = (f'{len(missing)} of {len(HEADS) * len(SEEDS)} runs to go '
                             '(make study-zoo continues): ' + ', '.join(missing))
        rows.append(f'\nincomplete: {out["incomplete"]}')
    if cost_json and osp.isfile(cost_json):
        with open(cost_json) as f:
            out['cost'] = json.load(f)
    elif json_path and osp.isfile(json_path):  # kept: the study script passes no cost table
        with open(json_path) as f:
            earlier = json.load(f)
        if 'cost' in earlier:
            out['cost'] = earlier['cost']
    if seconds is not None:
        out['wall_seconds_last_call'] = seconds
    out['table'] = '\n'.join(rows)
    if json_path:
        with open(json_path, 'w') as f:
            json.dump(out, f, indent=2)
    return out


def pilot_table(pilot_dir: str, json_path: Optional[str] = None) -> Dict:
    """The pilot's val numbers and the flags of its rule (a head that does not learn what
    DeepLabV2-MV2 learns), per class."""
    arms = ['deeplabv2'] + [a for _, a in HEADS + PILOT_VARIANTS]
    runs = {a: r['100'] for a, r in finished_runs(pilot_dir, arms).items() if '100' in r}
    if 'deeplabv2' not in runs:
        raise FileNotFoundError(f'no finished deeplabv2_seed100 under {pilot_dir!r}: the '
                                "pilot's rule compares every head with it")
    ref = runs['deeplabv2']
    flags: Dict[str, List[str]] = {}
    for a, r in runs.items():
        f = [c for c in CLASSES if ref[f'IoU.{c}'] >= PILOT_MIN_IOU
             and r[f'IoU.{c}'] < PILOT_FRACTION * ref[f'IoU.{c}']]
        if r['mIoU'] < ref['mIoU'] - PILOT_MIOU_GAP:
            f.append('mIoU')
        flags[a] = f
    rows = ['Pilot: seed 100, val (101 frames)', '',
            '| Method | mIoU | ≤2 px | mAcc | ' + ' | '.join(CLASSES) + ' | flagged |',
            '|---|---:|---:|---:|' + '---:|' * len(CLASSES) + '---|']
    for name, a in (('DeepLabV2-MV2', 'deeplabv2'),) + HEADS + PILOT_VARIANTS:
        if a in runs:
            r = runs[a]
            rows.append(f'| {name} | {r["mIoU"]:.2f} | {r["mIoU_band2"]:.2f} | {r["mAcc"]:.2f} | '
                        + ' | '.join(f'{r[f"IoU.{c}"]:.1f}' for c in CLASSES)
                        + f' | {", ".join(flags[a]) or "-"} |')
    out = dict(split='val', seed=100,
               rule=dict(min_iou=PILOT_MIN_IOU, fraction=PILOT_FRACTION,
                         miou_gap=PILOT_MIOU_GAP),
               runs=runs, flags=flags, table='\n'.join(rows))
    if json_path:
        with open(json_path, 'w') as f:
            json.dump(out, f, indent=2)
    return out


def plot(study: Dict, path: str) -> None:
    """Test mIoU (mean ± std over seeds) against CPU inference time as a ratio to
    DeepLabV2-MV2, one point per model, DifNet-MV2 marked."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    ratio = study['cost']['inference_ratio_to_deeplabv2']
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    placed: List = []  # points labelled so far: a label near one moves down a line
    for name, a in BASELINES + HEADS:
        if a not in study['summary'] or a not in ratio:
            continue
        x, m = ratio[a]['median'], study['summary'][a]['mIoU']
        dif = a == 'difnet'
        ax.errorbar(x, m['mean'], yerr=m['std'], fmt='*' if dif else 'o',
                    color='tab:red' if dif else 'tab:blue', ms=12 if dif else 6, capsize=3)
        near = sum(abs(x - px) < 0.1 and abs(m['mean'] - py) < 0.3 for px, py in placed)
        ax.annotate(name, (x, m['mean']), textcoords='offset points',
                    xytext=(5, 4 - 11 * near), fontsize=8)
        placed.append((x, m['mean']))
    ax.set_xlabel('CPU inference time per 240×320 image (× DeepLabV2-MV2)')
    ax.set_ylabel('CamVid test mIoU (mean ± std over seeds)')
    ax.set_title('mmseg heads vs DifNet, MobileNetV2-D8, CamVid, one recipe\n'
                 f'(192² crops, 2,000 iterations, seeds {",".join(SEEDS)})', fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


CONFIGS = dict(deeplabv2='configs/difnet/deeplabv2_mv2-d8_camvid-240x320_2k.py',
               difnet='configs/difnet/difnet_mv2-d8_camvid-240x320_2k.py',
               **{a: f'configs/zoo/{a}_mv2-d8_camvid-240x320_2k.py' for _, a in HEADS})


def model_zoo_rows(study: Dict) -> str:
    """The CamVid table of docs/model_zoo.md in mmseg's format, from the study's JSON: every
    row measured by this package (Mem: one training step's peak above the resident set, CPU;
    Inf time: CPU time per 240×320 image, one thread, as a ratio to DeepLabV2-MV2 measured
    interleaved with it, median and range over rounds)."""
    cost = study.get('cost', {})
    inf = cost.get('inference_ratio_to_deeplabv2', {})
    peak = cost.get('train_step_peak_mib_above_resident', {})
    rows = ['| Method | Backbone | Crop | Lr schd | Mem (MiB, CPU) | Inf time (CPU, × '
            'DeepLabV2-MV2) | mIoU (test) | seeds | config |',
            '|---|---|---|---:|---:|---|---:|---|---|']
    for name, a in BASELINES + HEADS:
        m = study['summary'].get(a, {}).get('mIoU')
        seeds = sorted(study['runs'].get(a, {})) if a not in ('deeplabv2', 'difnet') \
            else list(SEEDS)
        miou = '-' if m is None else (f'{m["mean"]:.2f} ± {m["std"]:.2f}' if len(seeds) > 1
                                      else f'{m["mean"]:.2f}')
        t = inf.get(a)
        tcol = '-' if t is None else f'{t["median"]:.2f}× ({t["min"]:.2f}-{t["max"]:.2f})'
        mem = f'{peak[a]:.0f}' if a in peak else '-'
        rows.append(f'| {name} | MobileNetV2-D8 | 192x192 | 2000 | {mem} | {tcol} | {miou} | '
                    f'{",".join(seeds) or "-"} | [config](../{CONFIGS[a]}) |')
    return '\n'.join(rows)


METAFILE_HEADER = """\
# mmseg model-index format, written by tools/studies/zoo_table.py --metafile from
# benchmarks/camvid_zoo.json: only what this package measured. mmseg's heads on the ImageNet
# MobileNetV2-D8 at the zoo study's CamVid recipe (docs/studies/zoo.md): test mIoU, mean and
# sample std over the seeds listed, trained on a 2-core CPU. No weights are published.
"""


def metafile(study: Dict) -> str:
    """configs/zoo/metafile.yaml: one model per zoo head with measured runs, its test mIoU
    (and within 2 px of a boundary) as mean ± sample std over the seeds it has."""
    import yaml
    models = []
    for name, a in HEADS:
        summary, seeds = study['summary'].get(a), sorted(study['runs'].get(a, {}))
        if not summary or not seeds:
            continue
        metrics = {'mIoU': round(summary['mIoU']['mean'], 2)}
        if len(seeds) > 1:
            metrics['mIoU std'] = round(summary['mIoU']['std'], 2)
        metrics['mIoU within 2 px'] = round(summary['mIoU_band2']['mean'], 2)
        models.append({
            'Name': osp.splitext(osp.basename(CONFIGS[a]))[0], 'In Collection': 'CamVid zoo study',
            'Config': CONFIGS[a],
            'Metadata': {'Backbone': 'MobileNetV2-D8', 'Crop Size': '(192,192)',
                         'Lr schd': 2000, 'Training Data': 'CamVid', 'Batch Size': 4,
                         'Architecture': ['MobileNetV2-D8', name],
                         'Training Resources': '1x CPU (2 cores)',
                         'Seeds': ','.join(seeds)},
            'Results': [{'Task': 'Semantic Segmentation', 'Dataset': 'CamVid',
                         'Metrics': metrics}]})
    index = {'Collections': [{'Name': 'CamVid zoo study', 'License': 'Apache License 2.0',
                              'Metadata': {'Training Data': ['CamVid']},
                              'README': 'docs/studies/zoo.md', 'Frameworks': ['PyTorch']}],
             'Models': models}
    return METAFILE_HEADER + yaml.safe_dump(index, sort_keys=False, allow_unicode=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('study_dir', help='the runs (<arm>_seed<N>/ dirs)')
    parser.add_argument('--json', help='write the numbers here (and keep its finished runs)')
    parser.add_argument('--pilot', action='store_true', help='the pilot: val, seed 100')
    parser.add_argument('--similarity-json', default=SIMILARITY_JSON,
                        help='DeepLabV2-MV2 and DifNet-MV2 runs to pair with')
    parser.add_argument('--cost', help='the cost table (tools/analysis_tools/zoo_cost.py)')
    parser.add_argument('--plot', help='write mIoU against inference cost here (needs --cost)')
    parser.add_argument('--metafile', help='write the measured heads in mmseg\'s model-index '
                        'format here (configs/zoo/metafile.yaml)')
    parser.add_argument('--seconds', type=int, help='wall time of this call, to record')
    parser.add_argument('--model-zoo', action='store_true',
                        help="print docs/model_zoo.md's CamVid table (mmseg's format)")
    args = parser.parse_args()
    if args.pilot:
        print(pilot_table(args.study_dir, args.json)['table'])
        return
    study = zoo_table(args.study_dir, args.json, args.similarity_json, args.cost, args.seconds)
    print(study['table'])
    if args.model_zoo:
        print('\n' + model_zoo_rows(study))
    if args.plot:
        if 'cost' not in study:
            parser.error('--plot needs --cost with an existing cost JSON')
        plot(study, args.plot)
        print(f'written: {args.plot}')
    if args.metafile:
        with open(args.metafile, 'w') as f:
            f.write(metafile(study))
        print(f'written: {args.metafile}')
    if args.json:
        print(f'written: {args.json}')


if __name__ == '__main__':
    main()
