"""The zoo study's cost table (docs/studies/zoo.md): for DeepLabV2-MV2, DifNet-MV2 and every
zoo head (configs/zoo/), measured in one process on one machine: parameters, FLOPs at 240×320
and 512×1024, inference time per 240×320 image (DifNet's walks in the deploy form that
tools/infer.py runs) and a training step (batch 4 of 192² crops, forward, backward, SGD),
each interleaved with DeepLabV2-MV2 and given as a ratio to it, and
the process's peak RSS over one training step.

    python tools/analysis_tools/zoo_cost.py [--out benchmarks/camvid_zoo_cost.json]
        [--rounds 5] [--threads 1]
"""
import argparse
import copy
import os.path as osp
import statistics
import subprocess
import sys

import torch
from cost_lib import device_name, gflops, interleaved, ratio_stats, report
from cost_lib.inference_cost import ZOO_CONFIGS, model_cfg
from cost_lib.timing import reset_peak_rss, status_kb
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_difnet  # noqa: F401  (registers the modules)
from mmseg_difnet.deployment import switch_to_deploy

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def batch(n: int, side: int, num_classes: int):
    x = torch.randn(n, 3, side, side)
    samples = []
    for _ in range(n):
        s = SegDataSample(metainfo=dict(img_shape=(side, side), pad_shape=(side, side)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, side, side)))
        samples.append(s)
    return x, samples


def step_peak_mib(arm: str) -> float:
    """The peak resident memory of one training step above the resident set before it, in
    a fresh process (in this one, memory freed by the other models would be reused)."""
    out = subprocess.run([sys.executable, __file__, '--peak-of', arm,
                          '--threads', str(torch.get_num_threads())],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def one_step_peak(arm: str) -> float:
    init_default_scope('mmseg')
    torch.manual_seed(0)
    m = MODELS.build(model_cfg(osp.join(ROOT, ZOO_CONFIGS[arm]))).train()
    x, samples = batch(4, 192, 11)
    opt = torch.optim.SGD(m.parameters(), lr=1e-6, momentum=0.9)
    base = reset_peak_rss()
    loss = sum(v for k, v in m(x, samples, mode='loss').items() if 'loss' in k)
    loss.backward()
    opt.step()
    return (status_kb('VmHWM') - base) / 1024


def zoo_cost(rounds: int, repeats: int, arms=tuple(ZOO_CONFIGS)) -> dict:
    init_default_scope('mmseg')
    torch.manual_seed(0)
    models = {a: MODELS.build(model_cfg(osp.join(ROOT, ZOO_CONFIGS[a]))).eval() for a in arms}
    small, large = torch.randn(1, 3, 240, 320), torch.randn(1, 3, 512, 1024)
    res = dict(device=device_name(torch.device('cpu')), threads=torch.get_num_threads(),
               params={a: sum(p.numel() for p in m.parameters()) for a, m in models.items()},
               gflops_240x320={}, gflops_512x1024={})
    with torch.no_grad():
        for a, m in models.items():
            res['gflops_240x320'][a] = gflops(m, small)
            res['gflops_512x1024'][a] = gflops(m, large)
        # inference as tools/infer.py runs it: DifNet's walks in their deploy form (the same
        # output); each model interleaved with DeepLabV2-MV2 in its own pair of timings
        deployed = {a: copy.deepcopy(m) for a, m in models.items()}
        for m in deployed.values():
            switch_to_deploy(m)
        inf = {}
        for a, m in deployed.items():
            if a == 'deeplabv2':
                continue
            t = interleaved(dict(model=lambda m=m: m(small, mode='tensor'),
                                 ref=lambda: deployed['deeplabv2'](small, mode='tensor')),
                            torch.device('cpu'), rounds, repeats)
            inf[a] = dict(seconds=statistics.median(t['model']),
                          ref_seconds=statistics.median(t['ref']),
                          **ratio_stats(t['model'], t['ref']))
    res['inference_ratio_to_deeplabv2'] = dict(
        deeplabv2=dict(median=1.0, min=1.0, max=1.0,
                       seconds=statistics.median(v['ref_seconds'] for v in inf.values())),
        **inf)
    x, samples = batch(4, 192, 11)
    steps, peak = {}, {}
    for a, m in models.items():
        m.train()
        opt = torch.optim.SGD(m.parameters(), lr=1e-6, momentum=0.9)

        def step(m=m, opt=opt):
            opt.zero_grad(set_to_none=True)
            loss = sum(v for k, v in m(x, samples, mode='loss').items() if 'loss' in k)
            loss.backward()
            opt.step()
        steps[a] = step
        peak[a] = step_peak_mib(a)
    train = {}
    for a, fn in steps.items():
        if a == 'deeplabv2':
            continue
        t = interleaved(dict(model=fn, ref=steps['deeplabv2']), torch.device('cpu'), rounds, 1)
        train[a] = dict(seconds=statistics.median(t['model']),
                        ref_seconds=statistics.median(t['ref']),
                        **ratio_stats(t['model'], t['ref']))
    res['train_step_ratio_to_deeplabv2'] = dict(
        deeplabv2=dict(median=1.0, min=1.0, max=1.0,
                       seconds=statistics.median(v['ref_seconds'] for v in train.values())),
        **train)
    res['train_step_peak_mib_above_resident'] = peak
    return res


def markdown(res: dict) -> str:
    inf, tr = res['inference_ratio_to_deeplabv2'], res['train_step_ratio_to_deeplabv2']
    rows = [f"{res['device']}, {res['threads']} thread(s)", '',
            '| Model | params (M) | GFLOPs 240×320 | GFLOPs 512×1024 | inference (s) | × DeepLabV2 '
            '| training step (s) | × DeepLabV2 | step peak (MiB above resident) |',
            '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for a in res['params']:
        rows.append(
            f"| {a} | {res['params'][a] / 1e6:.2f} | {res['gflops_240x320'][a]:.2f} | "
            f"{res['gflops_512x1024'][a]:.1f} | {inf[a]['seconds']:.3f} | "
            f"{inf[a]['median']:.2f} ({inf[a]['min']:.2f}-{inf[a]['max']:.2f}) | "
            f"{tr[a]['seconds']:.2f} | {tr[a]['median']:.2f} ({tr[a]['min']:.2f}-"
            f"{tr[a]['max']:.2f}) | {res['train_step_peak_mib_above_resident'][a]:.0f} |")
    return '\n'.join(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='benchmarks/camvid_zoo_cost.json')
    parser.add_argument('--rounds', type=int, default=5, help='interleaved rounds')
    parser.add_argument('--repeats', type=int, default=3, help='timed calls per round (median)')
    parser.add_argument('--threads', type=int, default=1, help='torch threads (a study lane: 1)')
    parser.add_argument('--arms', nargs='+', choices=tuple(ZOO_CONFIGS), default=tuple(ZOO_CONFIGS))
    parser.add_argument('--peak-of', choices=tuple(ZOO_CONFIGS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_of:  # the child process of step_peak_mib
        torch.set_num_threads(args.threads)
        print(one_step_peak(args.peak_of))
        return
    if 'deeplabv2' not in args.arms:
        parser.error('--arms must include deeplabv2: every ratio is to it')
    torch.set_num_threads(args.threads)
    res = zoo_cost(args.rounds, args.repeats, tuple(args.arms))
    report(res, markdown(res), args.out)


if __name__ == '__main__':
    main()
