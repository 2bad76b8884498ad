"""The post-processing study's cost (docs/studies/refinement.md, "Post-processing"): for every
base model of the zoo study (DeepLabV2-MV2, DifNet-MV2 in its deploy form, the six zoo heads),
the learned refiner and DenseCRF at the study's settings (configs/refiner/), each timed
interleaved with the base model's own forward on a 240×320 frame in one process, and given as
a ratio to it (median and range over rounds).

    python tools/analysis_tools/postprocess_cost.py [--image FRAME] [--rounds 7] [--threads 1]
        [--out benchmarks/postprocess_cost.json]

FRAME is a real image (default: the first CamVid test frame under CAMVID_ROOT, resized to
320×240 as the test pipeline does): DenseCRF's permutohedral lattice grows with the number of
distinct colours, so its time on noise is several times its time on a photograph.

The refiner's weights and the bases' are their initialisation: the time of a forward does not
depend on trained values; DenseCRF's mean field runs a fixed number of iterations. The study
itself (tools/studies/refine_zoo_study.py) also times every frame, but beside the training lanes
and at the process's default threads; this benchmark is the cost table the docs quote.
"""
import argparse
import os
import os.path as osp
import statistics

import numpy as np
import torch
from cost_lib import device_name, interleaved, ratio_stats, report
from cost_lib.inference_cost import ZOO_CONFIGS, model_cfg
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from PIL import Image

import mmseg_difnet  # noqa: F401  (registers the modules)
from mmseg_difnet.deployment import switch_to_deploy

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
POST = {name: osp.join(ROOT, 'configs', 'refiner', f'fcn_mv2-d8_camvid-240x320_2k_{name}.py')
        for name in ('refiner', 'densecrf')}


def post_processors():
    """The study's two post-processors, built from their configs (the refiner untrained)."""
    out = {}
    for name, path in POST.items():
        cfg = Config.fromfile(path).model.post_processor
        cfg.pop('checkpoint', None)
        out[name] = MODELS.build(cfg).eval()
    return out


def frame(path: str) -> torch.Tensor:
    """The image as RGB (1, 3, 240, 320) in 0..255."""
    if not osp.isfile(path):
        raise SystemExit(f'postprocess_cost.py: no image at {path!r}: give --image, or set '
                         'CAMVID_ROOT to the CamVid folder (docs/data.md).')
    img = Image.open(path).convert('RGB').resize((320, 240), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img, np.float32).copy()).permute(2, 0, 1)[None]


def postprocess_cost(rounds: int, repeats: int, arms, rgb: torch.Tensor) -> dict:
    init_default_scope('mmseg')
    torch.manual_seed(0)
    posts = post_processors()
    res = dict(device=device_name(torch.device('cpu')), threads=torch.get_num_threads(),
               frame=[240, 320], settings={k: repr(v) for k, v in posts.items()}, bases={})
    with torch.no_grad():
        for arm in arms:
            base = MODELS.build(model_cfg(osp.join(ROOT, ZOO_CONFIGS[arm]))).eval()
            switch_to_deploy(base)  # as tools/infer.py runs it (DifNet's walks)
            x = (rgb - base.data_preprocessor.mean) / base.data_preprocessor.std
            probs = torch.softmax(base(x, mode='tensor'), 1)
            probs = torch.nn.functional.interpolate(probs, size=(240, 320), mode='bilinear')
            t = interleaved(dict(base=lambda: base(x, mode='tensor'),
                                 **{k: (lambda p=p: p(probs, rgb)) for k, p in posts.items()}),
                            torch.device('cpu'), rounds, repeats)
            res['bases'][arm] = dict(
                base_seconds=statistics.median(t['base']),
                **{k: dict(seconds=statistics.median(t[k]), **ratio_stats(t[k], t['base']))
                   for k in posts})
    return res


def markdown(res: dict) -> str:
    rows = [f"{res['device']}, {res['threads']} thread(s), one 240×320 frame", '',
            '| base | base (s) | refiner × base | DenseCRF × base |', '|---|---:|---|---|']
    for arm, r in res['bases'].items():
        rows.append(f"| {arm} | {r['base_seconds']:.3f} | " + ' | '.join(
            f"{r[k]['median']:.2f} ({r[k]['min']:.2f}-{r[k]['max']:.2f})"
            for k in ('refiner', 'densecrf')) + ' |')
    return '\n'.join(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.environ.get('CAMVID_ROOT', osp.join(ROOT, '..', 'shared', 'data', 'camvid'))
    test = sorted(os.listdir(osp.join(root, 'test'))) if osp.isdir(osp.join(root, 'test')) \
        else ['missing']
    parser.add_argument('--image', default=osp.join(root, 'test', test[0]))
    parser.add_argument('--out', default='benchmarks/postprocess_cost.json')
    parser.add_argument('--rounds', type=int, default=7, help='interleaved rounds')
    parser.add_argument('--repeats', type=int, default=3, help='timed calls per round (median)')
    parser.add_argument('--threads', type=int, default=1, help='torch threads (a study lane: 1)')
    parser.add_argument('--arms', nargs='+', choices=tuple(ZOO_CONFIGS), default=tuple(ZOO_CONFIGS))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    res = postprocess_cost(args.rounds, args.repeats, args.arms, frame(args.image))
    res['image'] = osp.basename(args.image)
    report(res, markdown(res), args.out)


if __name__ == '__main__':
    main()
