"""The post-processing pilot (docs/studies/refinement.md, "Post-processing"; val only): each base
model's probabilities of every val frame are computed once, then every setting of the learned
refiner's grid and of DenseCRF's grid is scored (mIoU and mIoU within 2 px of a boundary, per
base model and per half of val), and each post-processor's setting is chosen by the rule fixed
in the design: the highest mean mIoU gain over the base models among the settings that lose on
none of them and on neither half of val, ties to fewer steps. Writes JSON with the whole
sensitivity table and the choice.

    python tools/studies/postprocess_pilot.py \
        --base fcn configs/zoo/fcn_mv2-d8_camvid-240x320_2k.py ../difnet_runs/.../iter_2000.pth \
        --refiner-checkpoint ../difnet_runs/refiner/.../iter_1000.pth --out pilot.json
"""
import argparse
import itertools
import json
import math
import os
import os.path as osp
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from study_lib.postprocess import Scorer, base_frames, frames_of, predict, wrapper_of

from mmseg_difnet.evaluation.per_walk_metric import boundary_band
from mmseg_difnet.models.post_processing import joint_bilateral_upsample
from mmseg_difnet.models.propagation import propagate

REFINER_CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'configs', 'refiner',
                          'fcn_mv2-d8_camvid-240x320_2k_refiner.py')
GRID = dict(steps=(1, 2, 4), alpha=(0.5, 1, 2, 4), temperature=(1, 2), sigma=(0.05, 0.1, None))
CRF_GRID = dict(bilateral_compat=(3, 5), bilateral_sxy=(30, 60), bilateral_srgb=(3, 5, 10))
BAND = 2


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--base', nargs=3, action='append', required=True,
                   metavar=('NAME', 'CONFIG', 'CHECKPOINT'), help='a base model (repeat)')
    p.add_argument('--refiner-checkpoint', help='the trained AffinityRefiner (none: skipped)')
    p.add_argument('--densecrf', action='store_true', help='also DenseCRF\'s grid')
    p.add_argument('--camvid-root', default='../shared/data/camvid')
    p.add_argument('--split', default='val', help='val (the pilot\'s; never test)')
    p.add_argument('--frames', type=int, default=None, help='the first N frames only')
    p.add_argument('--out', required=True, help='JSON to write')
    p.add_argument('--cache', help='a folder keeping each base model\'s scores once done, so '
                   'that a rerun (another session) skips it')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.split == 'test':
        raise SystemExit('postprocess_pilot.py: the pilot reads val only; the test split is '
                         'the committed study\'s (docs/studies/refinement.md).')
    init_default_scope('mmseg')
    torch.manual_seed(0)
    refiner = None
    if args.refiner_checkpoint:
        cfg_r = Config.fromfile(REFINER_CONFIG)
        refiner = MODELS.build(dict(cfg_r.model.post_processor,
                                    checkpoint=args.refiner_checkpoint)).eval()
    crf = MODELS.build(dict(type='DenseCRF')) if args.densecrf else None
    settings = [dict(zip(GRID, v)) for v in itertools.product(*GRID.values())]
    crf_settings = [dict(zip(CRF_GRID, v)) for v in itertools.product(*CRF_GRID.values())]
    scorers, seconds = {}, {}
    t0 = time.time()
    kinds = ('refiner' if refiner is not None else '') + ('crf' if crf is not None else '')
    for name, config, ckpt in args.base:
        done = args.cache and osp.join(args.cache, f'{name}_{kinds}_{args.frames}.json')
        if done and osp.isfile(done):
            scorers[name] = Scorer.load(done)
            print(f'{name}: scores of an earlier run ({done})', flush=True)
            continue
        cfg, model = wrapper_of(config, ckpt)
        dataset, n = frames_of(cfg, args.camvid_root, args.split, args.frames)
        sc = scorers[name] = Scorer(model.decode_head.num_classes)
        psi_cache = {}
        for i, (probs, rgb, sample) in enumerate(base_frames(model, dataset, n)):
            half = int(i >= n / 2)
            label = sample.gt_sem_seg.data[0]
            band = torch.where(boundary_band(label, BAND), label, torch.full_like(label, 255))
            sc.add('plain', half, predict(model, probs, sample), label, band)
            if refiner is not None:
                with torch.no_grad():
                    if i not in psi_cache:  # Ψ depends on the image only
                        psi_cache[i] = refiner.refiner.embed(refiner.normalise(rgb))
                    psi = psi_cache[i]
                    h, w = psi.shape[-2:]
                    p_bar = torch.nn.functional.adaptive_avg_pool2d(probs, (h, w))
                    v = p_bar.flatten(2).transpose(1, 2)
                    gate1 = 1 - probs.amax(1, keepdim=True)
                    for tau in GRID['temperature']:
                        q = psi.flatten(2).transpose(1, 2) * math.sqrt(tau)
                        y, ys = v, {}
                        for t in range(1, max(GRID['steps']) + 1):
                            y = propagate(q, y)
                            ys[t] = y
                        for steps, sigma in itertools.product(GRID['steps'], GRID['sigma']):
                            delta = (ys[steps] - v).transpose(1, 2).reshape(p_bar.shape)
                            up = joint_bilateral_upsample(delta, rgb, sigma)
                            for alpha in GRID['alpha']:
                                key = ('refiner', steps, alpha, tau, sigma)
                                p2 = probs + (alpha * gate1).clamp(max=1) * up
                                sc.add(key, half, predict(model, p2, sample), label, band)
            if crf is not None:
                for s in crf_settings:
                    crf.bilateral = dict(sxy=s['bilateral_sxy'], srgb=s['bilateral_srgb'],
                                         compat=s['bilateral_compat'])
                    p2 = crf(probs, rgb)
                    key = ('densecrf', s['bilateral_compat'], s['bilateral_sxy'],
                           s['bilateral_srgb'])
                    sc.add(key, half, predict(model, p2, sample), label, band)
            if (i + 1) % 10 == 0 or i + 1 == n:
                print(f'[{time.time() - t0:7.0f} s] {name}: {i + 1}/{n} frames', flush=True)
        seconds[name] = time.time() - t0
        if done:
            os.makedirs(args.cache, exist_ok=True)
            sc.save(done)
    out = table(scorers, settings, crf_settings, refiner is not None, crf is not None)
    out.update(split=args.split, frames=args.frames, bases={b[0]: b[1:] for b in args.base},
               refiner_checkpoint=args.refiner_checkpoint, seconds=seconds,
               rule='highest mean mIoU gain over the bases among the settings that lose on '
                    'none of them and on neither half of the frames; ties to fewer steps')
    with open(args.out, 'w') as f:
        json.dump(out, f, indent=1)
    for kind in ('refiner', 'densecrf'):
        if out.get(kind):
            print(f'{kind}: chosen {out[kind]["chosen"]}')
    print(f'wrote {args.out}')


def table(scorers, settings, crf_settings, with_refiner, with_crf):
    """Per setting: per base the mIoU, ≤ 2 px, per half, and gains over plain; the choice."""
    out = dict(plain={b: dict(mIoU=sc.miou('plain'), band=sc.miou('plain', scope='band'),
                              halves=[sc.miou('plain', (h,)) for h in (0, 1)])
                      for b, sc in scorers.items()})
    kinds = []
    if with_refiner:
        kinds.append(('refiner', [('refiner', s['steps'], s['alpha'], s['temperature'],
                                   s['sigma']) for s in settings], list(GRID)))
    if with_crf:
        kinds.append(('densecrf', [('densecrf', s['bilateral_compat'], s['bilateral_sxy'],
                                    s['bilateral_srgb']) for s in crf_settings], list(CRF_GRID)))
    for kind, keys, names in kinds:
        rows = []
        for key in keys:
            row = dict(zip(names, key[1:]), bases={})
            ok = True
            gains = []
            for b, sc in scorers.items():
                g = sc.miou(key) - sc.miou('plain')
                halves = [sc.miou(key, (h,)) - sc.miou('plain', (h,)) for h in (0, 1)]
                band = sc.miou(key, scope='band') - sc.miou('plain', scope='band')
                row['bases'][b] = dict(gain=round(g, 3), band_gain=round(band, 3),
                                       half_gains=[round(x, 3) for x in halves])
                ok &= g >= 0 and min(halves) >= 0
                gains.append(g)
            row.update(mean_gain=round(float(np.mean(gains)), 3), loses_nowhere=bool(ok))
            rows.append(row)
        eligible = [r for r in rows if r['loses_nowhere']]
        chosen = max(eligible, key=lambda r: (r['mean_gain'], -r.get('steps', 0)),
                     default=None)
        out[kind] = dict(rows=rows, chosen=None if chosen is None else {
            k: v for k, v in chosen.items() if k != 'bases'} | dict(bases=chosen['bases']))
    return out


if __name__ == '__main__':
    main()
