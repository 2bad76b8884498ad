"""The post-processing study (docs/studies/refinement.md, "Post-processing"; design, settings
and criterion fixed before its first number): every finished run of the zoo study tested on the
test frames plain, with DenseCRF and with the learned refiner at the settings the val pilot
chose (configs/refiner/), each frame's base probabilities computed once. Per run: mIoU and mIoU
within 2 px of a boundary, and each post-processor's time per image as a ratio to the base
model's, measured side by side in this run. Per head: the paired verdicts (2·SE over its seeds)
of refiner − plain and refiner − DenseCRF. Runs already in the JSON are kept and skipped, so the
study grows with the zoo study, session by session.

    python tools/studies/refine_zoo_study.py ../difnet_runs/camvid_zoo \
        --refiner-checkpoint ../difnet_runs/refiner/affinity-refiner_seed0/iter_1000.pth \
        --json benchmarks/refine_zoo.json
"""
import argparse
import glob
import json
import os.path as osp
import statistics
import time

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from study_lib.postprocess import Scorer, base_frames, frames_of, predict, wrapper_of
from study_lib.study_statistics import mean_std, verdict

from mmseg_difnet.checkpoint.integrity import state_dict_sha256
from mmseg_difnet.evaluation.per_walk_metric import boundary_band

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
REFINER = osp.join(ROOT, 'configs', 'refiner', 'fcn_mv2-d8_camvid-240x320_2k_refiner.py')
DENSECRF = osp.join(ROOT, 'configs', 'refiner', 'fcn_mv2-d8_camvid-240x320_2k_densecrf.py')
METHODS = ('plain', 'densecrf', 'refiner')
SEEDS = (3, 4, 5)  # the zoo study's: no verdict for a head before all three are in
CRITERION = ('Fixed before the runs (docs/studies/refinement.md, "Post-processing"): per head, '
             'over its seeds, d = refiner - plain and d = refiner - DenseCRF in test mIoU and '
             'in mIoU within 2 px of a boundary; positive if mean d > 2·SE (sample std / √n), '
             'negative if mean d < -2·SE, else null.')


def config_of(arm: str) -> str:
    """The zoo study's config of an arm (tools/studies/zoo_study.sh's `config`)."""
    if arm in ('deeplabv2', 'difnet'):
        return osp.join(ROOT, 'configs', 'difnet', f'{arm}_mv2-d8_camvid-240x320_2k.py')
    return osp.join(ROOT, 'configs', 'zoo', f'{arm}_mv2-d8_camvid-240x320_2k.py')


def finished(zoo_dir: str):
    """(name, arm, seed, checkpoint) of every finished 2,000-iteration run."""
    for done in sorted(glob.glob(osp.join(zoo_dir, '*_seed*', 'done'))):
        run = osp.dirname(done)
        name = osp.basename(run)
        arm, _, seed = name.rpartition('_seed')
        if arm.endswith('_4k') or not osp.isfile(osp.join(run, 'last_checkpoint')):
            continue
        with open(osp.join(run, 'last_checkpoint')) as f:
            yield name, arm, int(seed), f.read().strip()


def test_run(config: str, ckpt: str, refiner, crf, root: str, frames) -> dict:
    """One run: mIoU, ≤ 2 px and seconds per image of each method on the test frames."""
    cfg, model = wrapper_of(config, ckpt)
    dataset, n = frames_of(cfg, root, 'test', frames)
    sc = Scorer(model.decode_head.num_classes)
    secs = {m: [] for m in METHODS}
    for probs, rgb, sample in base_frames(model, dataset, n, secs['plain']):
        label = sample.gt_sem_seg.data[0]
        band = torch.where(boundary_band(label, 2), label, torch.full_like(label, 255))
        outs = dict(plain=probs)
        for m, post in (('densecrf', crf), ('refiner', refiner)):
            t0 = time.perf_counter()
            with torch.no_grad():
                outs[m] = post(probs, rgb)
            secs[m].append(time.perf_counter() - t0)
        for m, p in outs.items():
            sc.add(m, 0, predict(model, p, sample), label, band)
    res = {m: dict(mIoU=round(sc.miou(m, (0,)), 2), band2=round(sc.miou(m, (0,), 'band'), 2))
           for m in METHODS}
    base = statistics.median(secs['plain'])
    res['seconds'] = {m: statistics.median(v) for m, v in secs.items()}
    res['cost_ratio'] = {m: round(statistics.median(v) / base, 3) for m, v in secs.items()
                         if m != 'plain'}
    res['frames'] = n
    return res


def table(runs: dict) -> dict:
    """Per head: each method's mean ± std over seeds and the paired verdicts (None until
    every seed of ``SEEDS`` is in)."""
    heads = {}
    for name, r in runs.items():
        heads.setdefault(r['arm'], []).append(r)
    out = {}
    for arm, rs in sorted(heads.items()):
        rs = sorted(rs, key=lambda r: r['seed'])
        row = dict(seeds=[r['seed'] for r in rs])
        for m in METHODS:
            for k in ('mIoU', 'band2'):
                row[f'{m}_{k}'] = mean_std([r[m][k] for r in rs])
        for other in ('plain', 'densecrf'):
            for k in ('mIoU', 'band2'):
                d = [r['refiner'][k] - r[other][k] for r in rs]
                v = dict(verdict('paired_se', d), per_seed=d)
                if not set(SEEDS) <= set(row['seeds']):
                    v['verdict'] = None  # fixed in the design: three seeds first
                row[f'refiner-{other}_{k}'] = v
        row['cost_ratio'] = {m: statistics.median(r['cost_ratio'][m] for r in rs)
                             for m in ('densecrf', 'refiner')}
        out[arm] = row
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('zoo_dir', help='the zoo study\'s runs (<arm>_seed<N>/ with done)')
    p.add_argument('--refiner-checkpoint', required=True)
    p.add_argument('--json', required=True, help='the study JSON (its runs are kept)')
    p.add_argument('--camvid-root', default=osp.join(ROOT, '..', 'shared', 'data', 'camvid'))
    p.add_argument('--frames', type=int, help='the first N test frames only (a smoke run)')
    args = p.parse_args(argv)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    old = {}
    if osp.isfile(args.json):
        with open(args.json) as f:
            old = json.load(f).get('runs', {})
    refiner = MODELS.build(dict(Config.fromfile(REFINER).model.post_processor,
                                checkpoint=args.refiner_checkpoint)).eval()
    crf = MODELS.build(Config.fromfile(DENSECRF).model.post_processor)
    # which refiner scored each run: the loaded weights' hash (the same for a run's checkpoint
    # and the published file of it, tools/misc/publish_model.py)
    refiner_sha = state_dict_sha256(refiner.refiner.state_dict())[:16]
    runs = dict(old)
    for name, arm, seed, ckpt in finished(args.zoo_dir):
        if name in runs:
            print(f'{name}: in {args.json}, skipped', flush=True)
            continue
        t0 = time.time()
        runs[name] = dict(arm=arm, seed=seed, checkpoint=ckpt, refiner_weights_sha256=refiner_sha,
                          **test_run(config_of(arm), ckpt, refiner, crf, args.camvid_root,
                                     args.frames))
        r = runs[name]
        print(f'{name} ({time.time() - t0:.0f} s): plain {r["plain"]["mIoU"]}, DenseCRF '
              f'{r["densecrf"]["mIoU"]}, refiner {r["refiner"]["mIoU"]} (≤ 2 px '
              f'{r["plain"]["band2"]} / {r["densecrf"]["band2"]} / {r["refiner"]["band2"]}); '
              f'cost × base: DenseCRF {r["cost_ratio"]["densecrf"]}, refiner '
              f'{r["cost_ratio"]["refiner"]}', flush=True)
        save(args, runs)  # after every run: a session may end anywhere
    save(args, runs)  # the per-head table of every run kept, recomputed
    print(f'{len(runs)} runs in {args.json}')


def save(args, runs: dict) -> None:
    out = dict(criterion=CRITERION, settings=dict(
        refiner=dict(Config.fromfile(REFINER).model.post_processor, refiner=None,
                     checkpoint=args.refiner_checkpoint),
        densecrf=dict(Config.fromfile(DENSECRF).model.post_processor)),
        frames=args.frames or 'all test frames', runs=runs, heads=table(runs))
    with open(args.json, 'w') as f:
        json.dump(out, f, indent=1)


if __name__ == '__main__':
    main()
