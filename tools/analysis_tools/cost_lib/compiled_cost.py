# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Table 4 without launch overhead: both models eager and under ``torch.compile``;
``tools/analysis_tools/benchmark.py --sections compiled`` is the command."""
import statistics
import time
from typing import Dict, Sequence

import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from .inference_cost import model_cfg
from .timing import autocast, interleaved, ratio_stats, sync


def compiled_table(device: torch.device, rounds: int, repeats: int, configs: Sequence[str],
                   size: int = 505, dtype: str = 'fp32', concurrent: bool = False) -> Dict:
    """Table 4 without launch overhead: both models eager and under
    ``torch.compile`` (``mode='reduce-overhead'``, CUDA graphs, on a GPU; inductor's default
    on a CPU), the models of the two config files ``configs`` (DifNet, DeepLabV2),
    interleaved at ``size``, batch 1, autocast to ``dtype``; the compiled model's logits
    against eager (max |Δ|, argmax agreement) and the compile time."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    models = {}
    for key, name in zip(('difnet', 'deeplabv2'), configs):
        models[key] = MODELS.build(model_cfg(name)).to(device).eval()
    models['difnet'].concurrent_branches = concurrent
    x = torch.randn(1, 3, size, size, device=device)
    mode = 'reduce-overhead' if device.type == 'cuda' else 'default'
    res = dict(size=size, dtype=dtype, concurrent_branches=concurrent, mode=mode,
               configs=[c.rsplit('/', 1)[-1] for c in configs], rounds=rounds,
               repeats=repeats, parity={}, compile_seconds={})
    fns = {}
    with torch.no_grad(), autocast(device, dtype):
        for key, model in models.items():
            compiled = torch.compile(model, mode=mode, dynamic=False)
            t0 = time.perf_counter()
            for _ in range(3):  # compile, then CUDA graphs' recording runs
                out_c = compiled(x, mode='tensor')
            sync(device)
            res['compile_seconds'][key] = time.perf_counter() - t0
            ref = model(x, mode='tensor')
            out_c = compiled(x, mode='tensor').clone()
            res['parity'][key] = dict(
                max_abs=float((out_c.float() - ref.float()).abs().max()),
                scale=float(ref.float().abs().max()),
                argmax_agreement=float((out_c.argmax(1) == ref.argmax(1)).float().mean()))
            fns[f'{key}_eager'] = (lambda m=model: m(x, mode='tensor'))
            fns[f'{key}_compiled'] = (lambda c=compiled: c(x, mode='tensor'))
        t = interleaved(fns, device, rounds, repeats)
    res['seconds'] = {k: statistics.median(v) for k, v in t.items()}
    res['per_round'] = t
    res['ratio_eager'] = ratio_stats(t['difnet_eager'], t['deeplabv2_eager'])
    res['ratio_compiled'] = ratio_stats(t['difnet_compiled'], t['deeplabv2_compiled'])
    res['speedup'] = {k: statistics.median(t[f'{k}_eager']) / statistics.median(
        t[f'{k}_compiled']) for k in models}
    return res


def compiled_markdown(r: Dict) -> str:
    how = r['dtype'] + (', concurrent branches' if r['concurrent_branches'] else '')
    rows = [f'Table 4 compiled ({r["mode"]}, {how}, {r["size"]}², batch 1; '
            f'{", ".join(r["configs"])})', '',
            '| model | eager s | compiled s | speed-up | compile s | max |Δ| / scale | '
            'argmax agreement |', '|---|---:|---:|---:|---:|---:|---:|']
    for k in ('difnet', 'deeplabv2'):
        p = r['parity'][k]
        rows.append(f'| {k} | {r["seconds"][f"{k}_eager"]:.4f} | '
                    f'{r["seconds"][f"{k}_compiled"]:.4f} | {r["speedup"][k]:.2f}× | '
                    f'{r["compile_seconds"][k]:.0f} | {p["max_abs"]:.2e} / {p["scale"]:.1f} | '
                    f'{p["argmax_agreement"]:.4%} |')
    rows.append(f'\nDifNet / DeepLabV2: eager {r["ratio_eager"]["median"]:.2f}×, compiled '
                f'{r["ratio_compiled"]["median"]:.2f}× '
                f'({r["ratio_compiled"]["min"]:.2f}-{r["ratio_compiled"]["max"]:.2f})')
    return '\n'.join(rows)
