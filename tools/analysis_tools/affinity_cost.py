"""What the similarity switches cost (docs/studies/similarity.md): the
parameters, the inference GFLOPs (one 240×320 frame) and the training-step time of the paper's
DifNet-MV2 and of each switch (the label-affinity loss, a learned temperature, a narrower Ψ),
side by side in one run (interleaved rounds), on the similarity study's recipe (batch 4, 192²
crops, 11 classes). The walks' lr multipliers change no arithmetic: not timed.

    python tools/analysis_tools/affinity_cost.py [--rounds 5]
        [--out benchmarks/similarity_switch_cost.json]
"""
import argparse
import json
import os
import os.path as osp
import platform
import statistics

import torch
from cost_lib import gflops, interleaved, ratio_stats, spread
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_difnet  # noqa: F401  (registers the modules)
from mmseg_difnet.utils import for_one_process

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(paper='difnet_mv2-d8_camvid-240x320_2k.py',
               taught='difnet_mv2-d8-affinity_camvid-240x320_2k.py',
               temperature='difnet_mv2-d8-temperature_camvid-240x320_2k.py',
               psi16='difnet_mv2-d8-psi16_camvid-240x320_2k.py')


def build(name):
    cfg = for_one_process(Config.fromfile(osp.join(ROOT, 'configs', 'difnet', name)))
    cfg.model.backbone.init_cfg = None  # random weights: the cost does not depend on them
    cfg.model.neck.backbone.init_cfg = None
    return MODELS.build(cfg.model)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--steps', type=int, default=3, help='timed steps a round (median)')
    p.add_argument('--out', default='benchmarks/similarity_switch_cost.json')
    args = p.parse_args()
    init_default_scope('mmseg')
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 192, 192, generator=g)
    samples = []
    for _ in range(4):
        s = SegDataSample(metainfo=dict(img_shape=(192, 192), pad_shape=(192, 192)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 11, (1, 192, 192), generator=g))
        samples.append(s)
    models = {k: build(v) for k, v in CONFIGS.items()}
    frame = torch.randn(1, 3, 240, 320, generator=g)
    flops = {k: gflops(m.eval(), frame) for k, m in models.items()}
    for m in models.values():
        m.train()
    opts = {k: torch.optim.SGD(m.parameters(), lr=1e-6, momentum=0.9) for k, m in models.items()}

    def step(k):
        loss, _ = models[k].parse_losses(models[k].loss(x, samples))
        opts[k].zero_grad()
        loss.backward()
        opts[k].step()

    times = interleaved({k: (lambda k=k: step(k)) for k in models}, torch.device('cpu'),
                        args.rounds, args.steps)
    res = dict(
        machine=f'CPU, {os.cpu_count()} cores, {platform.processor() or platform.machine()}, '
        f'torch {torch.__version__}, {torch.get_num_threads()} threads',
        params={k: sum(p.numel() for p in m.parameters()) for k, m in models.items()},
        inference_gflops=flops,  # the affinity loss exists only in training
        train_step_seconds={k: statistics.median(v) for k, v in times.items()},
        per_round=times,
        ratio={k: ratio_stats(times[k], times['paper']) for k in models if k != 'paper'})
    os.makedirs(osp.dirname(args.out) or '.', exist_ok=True)
    json.dump(res, open(args.out, 'w'), indent=2)
    print(f'{res["machine"]}, batch 4 of 192², 11 classes, {args.rounds} interleaved rounds\n')
    print('| model | parameters | inference GFLOPs | training step (s) | × paper (min-max) |\n'
          '|---|---:|---:|---:|---:|')
    for k in models:
        r = res['ratio'].get(k)
        print(f'| DifNet-MV2 {k} | {res["params"][k]:,} | {flops[k]:.2f} | '
              f'{res["train_step_seconds"][k]:.3f} | '
              + (spread(r, 3) if r else '1') + ' |')
    print(f'\nwritten: {args.out}')


if __name__ == '__main__':
    main()
