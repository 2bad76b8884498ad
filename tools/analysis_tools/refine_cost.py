"""The cost of adding diffusion to a plain mmseg model: parameters, FLOPs and CPU time per
image of DeepLabV3+-MV2 (the refinement study's plain model) and of the same model with
diffusion, walks on its own stages (the study's) or on a second MobileNetV2.

    python tools/analysis_tools/refine_cost.py [--out benchmarks/refine_cost.json] [--rounds 5]

One CamVid test frame at the models' test size (320×240, batch 1, eval mode, no gradient).
The models are timed interleaved (A, B, C, A, B, C, ...) in one process with the torch
threads given; each ratio to the plain model is the median over rounds with its min-max
spread. FLOPs are mmengine's FlopAnalyzer's (multiply-adds), P·y counted as the dense path's
matmul. CPU times depend on the CPU; the ratios travel better than the seconds.
"""
import argparse
import json
import os.path as osp
import platform

import torch
from cost_lib import gflops, interleaved, ratio_stats
from cost_lib.inference_cost import model_cfg
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_difnet  # noqa: F401  (registers the modules)

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
                   'difnet')

MODELS_ = (('DeepLabV3+-MV2 (plain)', 'deeplabv3plus_mv2-d8_camvid-240x320.py'),
           ('+ diffusion, own stages (SharedSimilarity)',
            'difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320.py'),
           ('+ diffusion, second MobileNetV2 (SimilarityBackbone)',
            'difnet-deeplabv3plus_mv2-d8_camvid-240x320.py'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='benchmarks/refine_cost.json')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=3, help='calls per round (median)')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    x = torch.randn(1, 3, 240, 320)
    models = {name: MODELS.build(model_cfg(osp.join(CONFIGS, cfg))).eval()
              for name, cfg in MODELS_}
    res = {name: dict(config=cfg, params_M=sum(p.numel() for p in models[name].parameters())
                      / 1e6, gflops=gflops(models[name], x)) for name, cfg in MODELS_}

    def forward(model):
        def fn():
            with torch.no_grad():
                model(x, mode='tensor')
        return fn
    times = interleaved({n: forward(m) for n, m in models.items()}, torch.device('cpu'),
                        args.rounds, args.repeats)
    plain = MODELS_[0][0]
    rows = [f'CPU ({platform.machine()}, {args.threads} thread(s)), torch {torch.__version__}, '
            f'320×240, batch 1; medians of {args.rounds} interleaved rounds', '',
            '| model | params (M) | GFLOPs | CPU s / image | × plain: params | FLOPs | time |',
            '|---|---:|---:|---:|---:|---:|---:|']
    for name, _ in MODELS_:
        r = res[name]
        r['seconds'] = sorted(times[name])[len(times[name]) // 2]
        r['time_ratio'] = ratio_stats(times[name], times[plain])
        t = r['time_ratio']
        rows.append(f'| {name} | {r["params_M"]:.2f} | {r["gflops"]:.2f} | {r["seconds"]:.3f} | '
                    f'{r["params_M"] / res[plain]["params_M"]:.2f}× | '
                    f'{r["gflops"] / res[plain]["gflops"]:.2f}× | {t["median"]:.2f}× '
                    f'({t["min"]:.2f}-{t["max"]:.2f}) |')
    out = dict(device=f'cpu {platform.machine()} {args.threads} thread(s)',
               torch=torch.__version__, input=[1, 3, 240, 320], rounds=args.rounds,
               models=res)
    with open(args.out, 'w') as f:
        json.dump(out, f, indent=2)
    print('\n'.join(rows + ['', f'written: {args.out}']))


if __name__ == '__main__':
    main()
