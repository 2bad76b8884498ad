# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Timing helpers of the benchmarks: functions timed interleaved in one process (A, B, A, B,
...), so that a ratio of two times is measured side by side, and the process's peak memory."""
import contextlib
import os
import platform
import statistics
import time
from typing import Callable, Dict, List

import torch

DTYPES = dict(fp32=None, bf16=torch.bfloat16)


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing on a CPU."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall time of ``fn`` over ``repeats`` calls (after the caller's warm-up)."""
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def interleaved(fns: Dict[str, Callable[[], object]], device: torch.device, rounds: int,
                repeats: int) -> Dict[str, List[float]]:
    """Each function warmed up once, then timed once per round, in turn: {name: [time per
    round]} (each the median of ``repeats`` calls)."""
    for fn in fns.values():  # warm-up
        fn()
    out = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            out[name].append(timed(fn, device, repeats))
    return out


def ratio_stats(a: List[float], b: List[float]) -> Dict[str, float]:
    """Median, min and max over rounds of the per-round ratios a / b."""
    r = [x / y for x, y in zip(a, b)]
    return dict(median=statistics.median(r), min=min(r), max=max(r))


def spread(r: Dict[str, float], digits: int = 2) -> str:
    """A :func:`ratio_stats` as '1.24× (1.18-1.31)'."""
    return f"{r['median']:.{digits}f}× ({r['min']:.{digits}f}-{r['max']:.{digits}f})"


def autocast(device: torch.device, dtype: str):
    """``torch.autocast`` to ``dtype`` ('bf16'), or nothing for 'fp32'."""
    if DTYPES[dtype] is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[dtype])


def device_name(device: torch.device) -> str:
    """The device as the benchmarks' tables name it, with torch's version."""
    name = (torch.cuda.get_device_name(device) if device.type == 'cuda' else
            f'CPU, {os.cpu_count()} cores, {platform.processor() or platform.machine()}')
    return f'{name}, torch {torch.__version__}'


def status_kb(field: str) -> int:
    """A field of ``/proc/self/status`` in kB (Linux): 'VmRSS', 'VmHWM' (the RSS peak)."""
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ':'))


def reset_peak_rss() -> int:
    """Reset the RSS high-water mark to the current RSS (Linux); returns it in kB."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
    return status_kb('VmRSS')
