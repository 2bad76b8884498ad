"""Speed and memory of DifNet: the paper's Table 4 and dense vs fused diffusion.

    python tools/benchmark.py [--device cpu|cuda] [--out benchmarks/cpu.json] [--repeats 5]

Prints markdown tables and writes the numbers as JSON.
"""
import argparse
import json
import os
import os.path as osp
import platform

import torch
from mmengine.config import Config

from mmseg_difnet.utils import benchmark, sync_bn_to_bn

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'difnet')


def model_cfg(name):
    """The model of a config, with BN for one process and no pretrained download."""
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    sync_bn_to_bn(cfg)
    for key in ('backbone', 'neck'):
        if key in cfg.model:
            bb = cfg.model[key].get('backbone', cfg.model[key])
            bb.init_cfg = None
    return cfg.model


def main():
    parser = argparse.ArgumentParser(description='DifNet speed and memory benchmark')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--out', help='JSON output (default: benchmarks/<device>.json)')
    parser.add_argument('--repeats', type=int, default=5, help='timed repeats (median)')
    parser.add_argument('--sides', type=int, nargs='+', default=[41, 64, 101, 128],
                        help='diffusion grid sides (N = side²)')
    args = parser.parse_args()
    device = torch.device(args.device)
    name = (torch.cuda.get_device_name(device) if device.type == 'cuda' else
            f'CPU, {os.cpu_count()} cores, {platform.processor() or platform.machine()}')
    results = dict(device=args.device, device_name=f'{name}, torch {torch.__version__}',
                   table4=benchmark.table4(model_cfg('difnet_r50_voc.py'),
                                          model_cfg('deeplabv2_r101_voc.py'), device,
                                          repeats=args.repeats),
                   diffusion=benchmark.diffusion_table(args.device, tuple(args.sides)))
    out = args.out or osp.join('benchmarks', f'{args.device}.json')
    os.makedirs(osp.dirname(out) or '.', exist_ok=True)
    with open(out, 'w') as f:
        json.dump(results, f, indent=2)
    print(benchmark.markdown(results))
    print(f'\nwritten: {out}')


if __name__ == '__main__':
    main()
