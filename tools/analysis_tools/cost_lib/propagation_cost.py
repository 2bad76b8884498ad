# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The diffusion micro-benchmark: P·y dense against the path a walk takes (fused), by grid
size, forward and forward + backward, time and peak memory; ``tools/analysis_tools/benchmark.py
--sections diffusion`` is the command. On a CPU each case runs in a fresh process (this module
run as a script from tools/analysis_tools: ``python -m cost_lib.propagation_cost IMPL N
MODE``), so that the RSS peak is its own."""
import argparse
import json
import os.path as osp
import statistics
import subprocess
import sys
from typing import Dict, List

import torch

from mmseg_difnet.models.propagation import propagate

from .timing import ratio_stats, reset_peak_rss, spread, status_kb, timed


def diffusion_case(impl: str, N: int, mode: str, device: str = 'cpu', B: int = 2,
                   d: int = 64, K: int = 21, repeats: int = 3) -> Dict[str, float]:
    """One micro-benchmark case of P y, run in the current process."""
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
        base = reset_peak_rss()
        run()
        peak_mb = (status_kb('VmHWM') - base) / 1024
    run()
    return dict(impl=impl, N=N, mode=mode, peak_mb=peak_mb, time_s=timed(run, dev, repeats))


def diffusion_table(device: str, sides=(41, 64, 101, 128), impls=('dense', 'auto'),
                    rounds: int = 3, repeats: int = 1) -> List[Dict]:
    """Every case once per round, dense and fused in turn; per case the median time and
    peak over rounds, with the times of each round (for paired speed-up ratios)."""
    runs = {}
    for _ in range(rounds):
        for side in sides:
            for mode in ('fwd', 'fwd+bwd'):
                for impl in impls:
                    # on CPU a fresh process per case: no allocator cache hides memory
                    if device == 'cpu':
                        out = subprocess.run(
                            [sys.executable, '-m', __name__, impl, str(side * side), mode,
                             '--repeats', str(repeats)],
                            capture_output=True, text=True, check=True,
                            cwd=osp.dirname(osp.dirname(osp.abspath(__file__))))
                        row = json.loads(out.stdout.strip().splitlines()[-1])
                    else:
                        try:
                            row = diffusion_case(impl, side * side, mode, device,
                                                 repeats=repeats)
                        except torch.OutOfMemoryError:  # dense P at large N: say so
                            torch.cuda.empty_cache()
                            row = dict(impl=impl, N=side * side, mode=mode, oom=True,
                                       time_s=float('nan'), peak_mb=float('nan'))
                    runs.setdefault((side, mode, impl), []).append(row)
    return [dict(side=side, impl=impl, N=side * side, mode=mode,
                 time_s=statistics.median(r['time_s'] for r in rs),
                 peak_mb=statistics.median(r['peak_mb'] for r in rs),
                 per_round=[r['time_s'] for r in rs])
            for (side, mode, impl), rs in runs.items()]


def _speedup(dense: Dict, fused: Dict) -> str:
    return spread(ratio_stats(dense['per_round'], fused['per_round']), 1)


def diffusion_markdown(results: Dict) -> str:
    lines = [f"### Diffusion P·y, batch 2, Ψ width 64, 21 classes ({results['device_name']})", '',
             f"Medians of {len(results['diffusion'][0]['per_round'])} rounds (dense and fused "
             'in turn, ' + ('each case in a fresh process, peak RSS' if results['device'] == 'cpu'
                            else "peak of PyTorch's CUDA allocator") +
             '); speed-up: median (min-max) of the per-round ratios.', '',
             '| grid | N | pass | dense time (s) | fused time (s) | speed-up | dense peak (MB) '
             '| fused peak (MB) | dense / fused memory |',
             '|---|---:|---|---:|---:|---:|---:|---:|---:|']
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
                f"{fused['time_s']:.3f} | {_speedup(dense, fused)} | "
                f"{dense['peak_mb']:.0f} | {fused['peak_mb']:.0f} | {ratio:.0f}× |")
    return '\n'.join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='one case of the P·y micro-benchmark, as JSON')
    parser.add_argument('impl')
    parser.add_argument('N', type=int)
    parser.add_argument('mode', choices=('fwd', 'fwd+bwd'))
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_flush_denormal(True)
    print(json.dumps(diffusion_case(args.impl, args.N, args.mode, args.device,
                                    repeats=args.repeats)))


if __name__ == '__main__':
    main()
