# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Speed and memory of DifNet: the paper's Table 4 and the diffusion micro-benchmark.

Used by tools/benchmark.py. Times are medians over repeats after warm-up; on a GPU they are
synchronised and memory is the peak allocated by the op; on a CPU memory is the increase of
the peak RSS (VmHWM, reset before the case) of a fresh process running one case, so that
no allocator cache hides it.
"""
import json
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List

import torch

from .. import models  # noqa: F401  (registers the modules)


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def median_time(fn: Callable[[], object], device: torch.device, warmup: int,
                repeats: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def table4(difnet_cfg, deeplab_cfg, device: torch.device, size: int = 505, warmup: int = 2,
           repeats: int = 5) -> Dict[str, float]:
    """Inference time of DifNet-50 per branch and in total, and of DeepLabV2-101 (Table 4),
    built from their model configs (random weights: the time does not depend on them)."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    x = torch.randn(1, 3, size, size, device=device)
    difnet = MODELS.build(difnet_cfg).to(device).eval()
    deeplab = MODELS.build(deeplab_cfg).to(device).eval()
    head = difnet.decode_head
    res = {}
    with torch.no_grad():
        feats = difnet.extract_feat(x)

        def seed():  # seed branch: ResNet, ASPP-v2 score map x, s = H(x) x
            score = head.cls_seg(difnet.backbone(x)[head.in_index])
            return head.importance(score) * score

        s = seed()

        def diffusion():
            y = s
            for walk, f in zip(head.walks, feats[-head.num_walks:]):
                y = walk(f, y, s)
            return y

        res['difnet50_seed_s'] = median_time(seed, device, warmup, repeats)
        res['difnet50_similarity_s'] = median_time(
            lambda: difnet.neck.similarity_levels(x), device, warmup, repeats)
        res['difnet50_diffusion_s'] = median_time(diffusion, device, warmup, repeats)
        res['difnet50_total_s'] = median_time(lambda: difnet(x, mode='tensor'), device,
                                              warmup, repeats)
        res['deeplabv2_101_total_s'] = median_time(lambda: deeplab(x, mode='tensor'), device,
                                                   warmup, repeats)
    return res


def _status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ':'))


def diffusion_case(impl: str, N: int, mode: str, device: str = 'cpu', B: int = 2,
                   d: int = 64, K: int = 21, repeats: int = 3) -> Dict[str, float]:
    """One micro-benchmark case of P y, run in the current process."""
    from ..models.random_walk import propagate
    dev = torch.device(device)
    g = torch.Generator(device=dev).manual_seed(0)
    psi = (0.3 * torch.randn(B, N, d, device=dev, generator=g)).requires_grad_(mode == 'fwd+bwd')
    y = torch.randn(B, N, K, device=dev, generator=g).requires_grad_(mode == 'fwd+bwd')

    def run():
        if mode == 'fwd':
            with torch.no_grad():
                return propagate(psi, y, impl)
        out = propagate(psi, y, impl)
        out.sum().backward()
        psi.grad = y.grad = None
        return out

    if dev.type == 'cuda':
        run()
        torch.cuda.synchronize(dev)
        base = torch.cuda.memory_allocated(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        run()
        torch.cuda.synchronize(dev)
        peak_mb = (torch.cuda.max_memory_allocated(dev) - base) / 2**20
    else:  # the RSS high-water mark, reset just before the first run (Linux), fresh process
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current RSS
        base = _status_kb('VmRSS')
        run()
        peak_mb = (_status_kb('VmHWM') - base) / 1024
    return dict(impl=impl, N=N, mode=mode, peak_mb=peak_mb,
                time_s=median_time(run, dev, 1, repeats))


def diffusion_case_subprocess(impl: str, N: int, mode: str, device: str) -> Dict[str, float]:
    code = ('import json, mmseg_difnet.utils.benchmark as b; '
            f'print(json.dumps(b.diffusion_case({impl!r}, {N}, {mode!r}, {device!r})))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def diffusion_table(device: str, sides=(41, 64, 101, 128),
                    impls=('dense', 'auto')) -> List[Dict[str, float]]:
    rows = []
    for side in sides:
        for mode in ('fwd', 'fwd+bwd'):
            for impl in impls:
                if device == 'cpu':
                    rows.append(diffusion_case_subprocess(impl, side * side, mode, device))
                else:
                    rows.append(diffusion_case(impl, side * side, mode, device))
                rows[-1]['side'] = side
    return rows


def markdown(results: Dict) -> str:
    t4 = results['table4']
    lines = [f"### Table 4: inference at 505×505, batch 1 ({results['device_name']})", '',
             '| model | seed (s) | similarity (s) | diffusion (s) | total (s) |',
             '|---|---:|---:|---:|---:|',
             f"| DifNet-50 | {t4['difnet50_seed_s']:.3f} | {t4['difnet50_similarity_s']:.3f} "
             f"| {t4['difnet50_diffusion_s']:.3f} | {t4['difnet50_total_s']:.3f} |",
             f"| DeepLabV2-101 | | | | {t4['deeplabv2_101_total_s']:.3f} |",
             "| *paper, GTX 1080: DifNet-50* | 0.018 | 0.015 | 0.006 | 0.039 |",
             "| *paper, GTX 1080: Sim-Deeplab-101* | | | | 0.036 |", '',
             f"DifNet-50 / DeepLabV2-101 total: {t4['difnet50_total_s'] / t4['deeplabv2_101_total_s']:.2f}× "
             '(target ≤ 1; paper 1.08×); diffusion share of DifNet-50: '
             f"{100 * t4['difnet50_diffusion_s'] / t4['difnet50_total_s']:.1f}% "
             '(target ≤ 10%; paper 15%).', '',
             f"### Diffusion P·y, batch 2, Ψ width 64, 21 classes ({results['device_name']})", '',
             '| grid | N | pass | dense time (s) | fused time (s) | speed-up | dense peak (MB) '
             '| fused peak (MB) | dense / fused memory |', '|---|---:|---|---:|---:|---:|---:|---:|---:|']
    rows = results['diffusion']
    for side in sorted({r['side'] for r in rows}):
        for mode in ('fwd', 'fwd+bwd'):
            dense = next(r for r in rows if r['side'] == side and r['mode'] == mode
                         and r['impl'] == 'dense')
            fused = next(r for r in rows if r['side'] == side and r['mode'] == mode
                         and r['impl'] != 'dense')
            ratio = dense['peak_mb'] / max(fused['peak_mb'], 1.0)  # 1 MB: RSS page noise
            lines.append(
                f"| {side}×{side} | {side * side} | {mode} | {dense['time_s']:.3f} | "
                f"{fused['time_s']:.3f} | {dense['time_s'] / fused['time_s']:.1f}× | "
                f"{dense['peak_mb']:.0f} | {fused['peak_mb']:.0f} | {ratio:.0f}× |")
    return '\n'.join(lines)
