"""Speed and memory of DifNet: the paper's Table 4, a training step, FLOPs, the diffusion
micro-benchmark (dense vs fused P·y), the compiled models and the deployed models.

    python tools/analysis_tools/benchmark.py [--device cpu|cuda] [--out benchmarks/cpu.json]
        [--rounds 5]
    python tools/analysis_tools/benchmark.py --sections deploy      # benchmarks/deploy_cpu.json

Every ratio is measured side by side: the models are timed interleaved (A, B, A, B, ...) in
one process for several rounds, each ratio reported as the median over rounds with its
min-max spread, next to the FLOPs ratio (the floor of the time ratio on a compute-bound
device). What each section measures: ``cost_lib.inference_cost`` (models),
``.propagation_cost`` (diffusion), ``.compiled_cost`` (compiled), ``.deploy_cost`` (deploy).
Prints markdown tables and writes the numbers as JSON.
"""
import argparse
import json
import os
import os.path as osp

import torch
from cost_lib import device_name
from cost_lib.compiled_cost import compiled_table
from cost_lib.deploy_cost import deploy_table
from cost_lib.inference_cost import models_and_costs
from cost_lib.propagation_cost import diffusion_table
from cost_lib.report import markdown
from cost_lib.timing import DTYPES

import mmseg_difnet  # noqa: F401  (registers the modules)

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
                   'difnet')


def main(argv=None):
    parser = argparse.ArgumentParser(description='DifNet speed and memory benchmark')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--out', help='JSON output (default: benchmarks/<device>.json)')
    parser.add_argument('--rounds', type=int, default=5, help='interleaved rounds')
    parser.add_argument('--repeats', type=int, default=3, help='timed runs per round (median)')
    parser.add_argument('--diffusion-rounds', type=int, default=3,
                        help='interleaved rounds of the diffusion micro-benchmark')
    parser.add_argument('--sides', type=int, nargs='+', default=[41, 64, 101, 128],
                        help='diffusion grid sides (N = side²)')
    parser.add_argument('--size', type=int, default=505, help='Table 4 input side')
    parser.add_argument('--train-size', type=int, default=321, help='training crop side')
    parser.add_argument('--train-batch', type=int, default=2, help='training batch')
    parser.add_argument('--dtype', choices=sorted(DTYPES), default='fp32',
                        help='inference precision (bf16: torch.autocast)')
    parser.add_argument('--concurrent', action='store_true',
                        help="DifNet-50's two branches on two CUDA streams")
    parser.add_argument('--amp', action='store_true', help='training step under bf16 autocast')
    parser.add_argument('--no-train-step', action='store_true', help='inference only')
    parser.add_argument('--compile-configs', nargs=2, metavar=('DIFNET', 'DEEPLABV2'),
                        default=['difnet_r50_voc.py', 'deeplabv2_r101_voc.py'],
                        help='--sections compiled: the two configs (configs/difnet/)')
    parser.add_argument('--sections', nargs='+',
                        choices=('models', 'diffusion', 'deploy', 'compiled'),
                        default=['models', 'diffusion'], help='what to measure')
    args = parser.parse_args(argv)
    if 'deploy' in args.sections and args.device != 'cpu':
        parser.error('--sections deploy measures the CPU runtimes: use --device cpu.')
    torch.set_flush_denormal(True)  # as DifNetRunner does for training and testing
    device = torch.device(args.device)
    results = dict(device=args.device, device_name=device_name(device))
    if 'models' in args.sections:
        results.update(models_and_costs(
            device, args.rounds, args.repeats, osp.join(CONFIGS, 'difnet_r50_voc.py'),
            osp.join(CONFIGS, 'deeplabv2_r101_voc.py'), args.size, args.train_size,
            args.train_batch, args.dtype, args.concurrent, args.amp, not args.no_train_step))
    if 'diffusion' in args.sections:
        results['diffusion'] = diffusion_table(args.device, tuple(args.sides),
                                               rounds=args.diffusion_rounds)
    if 'compiled' in args.sections:
        results['compiled'] = compiled_table(
            device, args.rounds, args.repeats,
            [osp.join(CONFIGS, c) for c in args.compile_configs], args.size, args.dtype,
            args.concurrent)
    if 'deploy' in args.sections:
        results['deploy'] = deploy_table(args.rounds, args.repeats, CONFIGS)
    prefix = 'deploy_' if args.sections == ['deploy'] else ''
    out = args.out or osp.join('benchmarks', f'{prefix}{args.device}.json')
    os.makedirs(osp.dirname(out) or '.', exist_ok=True)
    with open(out, 'w') as f:
        json.dump(results, f, indent=2)
    print(markdown(results))
    print(f'\nwritten: {out}')
    return results


if __name__ == '__main__':
    main()
