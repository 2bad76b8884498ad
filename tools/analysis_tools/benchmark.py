"""Speed and memory of DifNet: the paper's Table 4, a training step, FLOPs, the
diffusion micro-benchmark (dense vs fused P·y), and the deployed models.

    python tools/analysis_tools/benchmark.py [--device cpu|cuda] [--out benchmarks/cpu.json]
        [--rounds 5]
    python tools/analysis_tools/benchmark.py --sections deploy      # benchmarks/deploy_cpu.json

DifNet-50 and DeepLabV2-101 are timed interleaved (A, B, A, B, ...) in one process for
several rounds; each ratio is reported as the median over rounds with its min-max spread,
next to the FLOPs ratio (mmengine's FlopAnalyzer), which is the floor of the time ratio on a
compute-bound device. The diffusion micro-benchmark runs every case once per round, dense
and fused in turn (``--diffusion-rounds``), each in a fresh process on CPU so that the RSS peak
is its own. The deploy section exports DeepLabV2-MV2, DifNet-MV2 (240×320) and DifNet-50
(505×505) to ONNX (dynamo exporter, fixed size, every BN γ non-zero) and times eager PyTorch,
ONNX Runtime and OpenVINO (f32) interleaved, at 1 and 2 threads each, on the same image and
graph (preprocessing, model, logits at the image's size); peak memory is the RSS peak of a
fresh process that loads one backend's model and segments 3 images (PyTorch's process holds
torch and mmseg, the others numpy and their runtime, as a service would). Prints markdown
tables and writes the numbers as JSON.
"""
import argparse
import contextlib
import copy
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F
from mmcv.cnn import fuse_conv_bn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_difnet  # noqa: F401  (registers the modules)
from mmseg_difnet.utils import for_one_process

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs', 'difnet')


def model_cfg(name):
    """The model of a config, with BN for one process and no pretrained download."""
    return for_one_process(Config.fromfile(osp.join(CONFIGS, name))).model


def sync(device: torch.device) -> None:
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


def interleaved(fns: Dict[str, Callable[[], object]], device, rounds, repeats
                ) -> Dict[str, List[float]]:
    """Each function timed once per round, in turn: {name: [time per round]}."""
    for fn in fns.values():  # warm-up
        fn()
    out = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            out[name].append(timed(fn, device, repeats))
    return out


def gflops(model, x) -> float:
    """GFLOPs of one tensor-mode forward (multiply-adds, as mmengine counts them)."""
    from mmengine.analysis import FlopAnalyzer
    walks = getattr(model.decode_head, 'walks', [])
    impls = [w.impl for w in walks]
    for w in walks:  # the traced graph must show P·y as matmul + softmax to be counted
        w.impl = 'dense'
    try:
        analyzer = FlopAnalyzer(model, (x, None, 'tensor'))
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return analyzer.total() / 1e9
    finally:
        for w, impl in zip(walks, impls):
            w.impl = impl


def ratio_stats(a: List[float], b: List[float]) -> Dict[str, float]:
    r = [x / y for x, y in zip(a, b)]
    return dict(median=statistics.median(r), min=min(r), max=max(r))


DTYPES = dict(fp32=None, bf16=torch.bfloat16)


def autocast(device: torch.device, dtype: str):
    """``torch.autocast`` to ``dtype`` ('bf16'), or nothing for 'fp32'."""
    if DTYPES[dtype] is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[dtype])


PROFILE_STEPS = ('embedding', 'norm', 'pooling', 'P·y', 'walk algebra')
NARROW_WIDTHS = (16, 32, 64)


def diffusion_profile(head, s: torch.Tensor, levels, device: torch.device, rounds: int,
                      repeats: int) -> Dict:
    """The diffusion's time per step and walk, inference: the embedding (Ψ's 1×1 conv), its
    norm, the pooling to the grid, P·y and the walk algebra of Eq. 5, each timed alone on
    the inputs it gets in the cascade, as today's path computes them ('current': the norm
    folded into the conv, the image channels-last, no pooling at the grid's size) and in
    the plain order conv, BN, pool ('plain', the path before issue 37), interleaved."""
    from mmseg_difnet.models.random_walk import choose_impl, propagate
    grid = tuple(s.shape[-2:])
    fns, y = {}, s
    for t, (walk, f) in enumerate(zip(head.walks, levels)):
        conv, bn = walk.psi.conv, walk.psi.bn
        z = conv(f)
        zn = bn(z)
        psi = walk.embed(f, grid)  # (B, N, d)
        v = y.flatten(2).transpose(1, 2)  # (B, N, K)
        path = choose_impl(walk.impl, psi, v)[0]
        py = propagate(psi, v, path).transpose(1, 2).reshape(y.shape)
        mu, beta = walk.mu, walk.beta
        fns[f'plain/{t}/embedding'] = lambda conv=conv, f=f: conv(f)
        fns[f'plain/{t}/norm'] = lambda bn=bn, z=z: bn(z)
        fns[f'plain/{t}/pooling'] = lambda zn=zn: F.adaptive_max_pool2d(zn, grid)
        fns[f'current/{t}/embedding'] = lambda walk=walk, f=f: walk.features(f)
        fns[f'current/{t}/pooling'] = lambda walk=walk, zf=walk.features(f): walk.pool(zf, grid)
        fns[f'current/{t}/P·y'] = lambda psi=psi, v=v, path=path: propagate(psi, v, path)
        fns[f'current/{t}/walk algebra'] = (
            lambda py=py, y=y, mu=mu, beta=beta: beta * (mu * py + (1 - mu) * s) + (1 - beta) * y)
        y = walk(f, y, s)
    for d in NARROW_WIDTHS:  # a narrower Ψ (walk_cfg.embed_channels), P·y of the last walk
        psi_d = psi[..., :d].contiguous()
        fns[f'width/{d}'] = lambda psi_d=psi_d, v=v, path=path: propagate(psi_d, v, path)
    times = interleaved(fns, device, rounds, repeats)
    out: Dict = dict(grid=list(grid), walks=len(head.walks), levels=[list(f.shape[1:])
                                                                      for f in levels])
    for order in ('plain', 'current'):
        rows = {}
        for step in PROFILE_STEPS:
            key = ('current' if step in ('P·y', 'walk algebra') else order)
            per_walk = [statistics.median(times[f'{key}/{t}/{step}'])
                        if f'{key}/{t}/{step}' in times else 0.0 for t in range(len(head.walks))]
            rows[step] = dict(per_walk=per_walk, total=sum(per_walk))
        rows['total'] = sum(r['total'] for r in rows.values())
        out[order] = rows
    out['P·y by Ψ width'] = {d: statistics.median(times[f'width/{d}']) for d in NARROW_WIDTHS}
    return out


def models_and_costs(device: torch.device, rounds: int, repeats: int, size: int = 505,
                     train_size: int = 321, train_batch: int = 2, dtype: str = 'fp32',
                     concurrent: bool = False, amp: bool = False, train: bool = True) -> Dict:
    """Table 4 (inference at ``size``, autocast to ``dtype``; DifNet-50 with its branches on
    two CUDA streams if ``concurrent``) and a training step (``train_batch`` images of
    ``train_size``, bf16 autocast if ``amp``; peak memory on CUDA)."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    difnet = MODELS.build(model_cfg('difnet_r50_voc.py')).to(device).eval()
    difnet.concurrent_branches = concurrent
    deeplab = MODELS.build(model_cfg('deeplabv2_r101_voc.py')).to(device).eval()
    x = torch.randn(1, 3, size, size, device=device)
    res = dict(gflops=dict(difnet50=gflops(difnet, x), deeplabv2_101=gflops(deeplab, x)),
               dtype=dtype, concurrent_branches=concurrent, amp=amp)
    res['gflops']['ratio'] = res['gflops']['difnet50'] / res['gflops']['deeplabv2_101']
    head = difnet.decode_head
    with torch.no_grad(), autocast(device, dtype):
        feats = difnet.extract_feat(x)
        levels = head.split_inputs(feats)[1]
        s = head.seed(feats)[2]
        parts = interleaved(dict(
            seed=lambda: head.seed([*difnet.backbone(x), *levels]),
            similarity=lambda: difnet.neck.similarity_levels(x),
            diffusion=lambda: head.diffuse(s, levels)), device, rounds, repeats)
        totals = interleaved(dict(difnet50=lambda: difnet(x, mode='tensor'),
                                  deeplabv2_101=lambda: deeplab(x, mode='tensor')),
                             device, rounds, repeats)
        fused = fuse_conv_bn(copy.deepcopy(difnet))
        fused_t = interleaved(dict(difnet50_fused_bn=lambda: fused(x, mode='tensor'),
                                   difnet50=lambda: difnet(x, mode='tensor')),
                              device, rounds, repeats)
        profile = diffusion_profile(head, s, levels, device, rounds, repeats)
    res['inference'] = dict(
        size=size, rounds=rounds, repeats=repeats,
        seconds={k: statistics.median(v) for k, v in {**parts, **totals}.items()},
        per_round={**parts, **totals},
        ratio=ratio_stats(totals['difnet50'], totals['deeplabv2_101']),
        diffusion_share=statistics.median(parts['diffusion']) / statistics.median(
            totals['difnet50']),
        fused_conv_bn=dict(seconds=statistics.median(fused_t['difnet50_fused_bn']),
                           ratio=ratio_stats(fused_t['difnet50_fused_bn'],
                                             fused_t['difnet50'])),
        diffusion_profile=profile)
    if not train:
        return res
    # a training step: forward (loss), backward, SGD step
    xt = torch.randn(train_batch, 3, train_size, train_size, device=device)
    samples = []
    for _ in range(train_batch):
        s_ = SegDataSample(metainfo=dict(img_shape=(train_size, train_size),
                                         pad_shape=(train_size, train_size)))
        s_.gt_sem_seg = PixelData(data=torch.randint(
            0, 21, (1, train_size, train_size), device=device))
        samples.append(s_)
    steps = {}
    for name, model in (('difnet50', difnet), ('deeplabv2_101', deeplab)):
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)

        def step(model=model, opt=opt):
            opt.zero_grad(set_to_none=True)
            with autocast(device, 'bf16' if amp else 'fp32'):
                loss = sum(model(xt, samples, mode='loss').values())
            loss.backward()
            opt.step()
        steps[name] = step
    train = interleaved(steps, device, rounds, max(1, repeats // 2))
    res['train_step'] = dict(size=train_size, batch=train_batch,
                             seconds={k: statistics.median(v) for k, v in train.items()},
                             per_round=train,
                             ratio=ratio_stats(train['difnet50'], train['deeplabv2_101']))
    if device.type == 'cuda':
        mem = {}
        for name, fn in steps.items():
            torch.cuda.reset_peak_memory_stats(device)
            fn()
            mem[name] = torch.cuda.max_memory_allocated(device) / 2**30
        res['train_step']['peak_gib'] = mem
    return res


def compiled_table(device: torch.device, rounds: int, repeats: int, size: int = 505,
                   dtype: str = 'fp32', concurrent: bool = False,
                   configs=('difnet_r50_voc.py', 'deeplabv2_r101_voc.py')) -> Dict:
    """Table 4 without launch overhead (issue 38): both models eager and under
    ``torch.compile`` (``mode='reduce-overhead'``, CUDA graphs, on a GPU; inductor's default
    on a CPU), interleaved at ``size``, batch 1, autocast to ``dtype``; the compiled model's
    logits against eager (max |Δ|, argmax agreement) and the compile time."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    models = {}
    for key, name in zip(('difnet', 'deeplabv2'), configs):
        models[key] = MODELS.build(model_cfg(name)).to(device).eval()
    models['difnet'].concurrent_branches = concurrent
    x = torch.randn(1, 3, size, size, device=device)
    mode = 'reduce-overhead' if device.type == 'cuda' else 'default'
    res = dict(size=size, dtype=dtype, concurrent_branches=concurrent, mode=mode,
               configs=list(configs), rounds=rounds, repeats=repeats, parity={},
               compile_seconds={})
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


def _status_kb(field: str) -> int:
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ':'))


def diffusion_case(impl: str, N: int, mode: str, device: str = 'cpu', B: int = 2,
                   d: int = 64, K: int = 21, repeats: int = 3) -> Dict[str, float]:
    """One micro-benchmark case of P y, run in the current process."""
    from mmseg_difnet.models.random_walk import propagate
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
                            [sys.executable, __file__, '--case', impl, str(side * side),
                             mode, '--repeats', str(repeats)],
                            capture_output=True, text=True, check=True)
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


def _spread(r: Dict[str, float]) -> str:
    return f"{r['median']:.2f}× ({r['min']:.2f}-{r['max']:.2f})"


def _speedup(dense: Dict, fused: Dict) -> str:
    r = ratio_stats(dense['per_round'], fused['per_round'])
    return f"{r['median']:.1f}× ({r['min']:.1f}-{r['max']:.1f})"


def markdown(results: Dict) -> str:
    """The tables of the sections measured."""
    parts = []
    if 'inference' in results:
        parts.append(models_markdown(results))
    if 'diffusion' in results:
        parts.append(diffusion_markdown(results))
    if 'deploy' in results:
        parts.append(deploy_markdown(results))
    if 'compiled' in results:
        parts.append(compiled_markdown(results['compiled']))
    return '\n\n'.join(parts)


def models_markdown(results: Dict) -> str:
    inf, fl = results['inference'], results['gflops']
    tr = results.get('train_step')
    sec, floor = inf['seconds'], fl['ratio']
    how = results.get('dtype', 'fp32') + (', concurrent branches' if results.get(
        'concurrent_branches') else '')
    lines = [f"### Table 4: inference at {inf['size']}×{inf['size']}, batch 1, {how} "
             f"({results['device_name']})", '',
             f"Medians of {inf['rounds']} interleaved rounds (each the median of "
             f"{inf['repeats']} runs); ratios: median (min-max over rounds).", '',
             '| model | GFLOPs | seed (s) | similarity (s) | diffusion (s) | total (s) |',
             '|---|---:|---:|---:|---:|---:|',
             f"| DifNet-50 | {fl['difnet50']:.0f} | {sec['seed']:.3f} | "
             f"{sec['similarity']:.3f} | {sec['diffusion']:.3f} | {sec['difnet50']:.3f} |",
             f"| DeepLabV2-101 | {fl['deeplabv2_101']:.0f} | | | | {sec['deeplabv2_101']:.3f} |",
             '| *paper, GTX 1080: DifNet-50* | | 0.018 | 0.015 | 0.006 | 0.039 |',
             '| *paper, GTX 1080: Sim-Deeplab-101* | | | | | 0.036 |', '',
             '| ratio DifNet-50 / DeepLabV2-101 | time | FLOPs | time above the FLOPs floor |',
             '|---|---:|---:|---:|',
             f"| inference | {_spread(inf['ratio'])} | {floor:.2f}× | "
             f"{inf['ratio']['median'] / floor:.2f}× |"]
    if tr:
        lines.append(
            f"| training step ({tr['size']}×{tr['size']}, batch {tr['batch']}, fwd+bwd+SGD"
            f"{', AMP bf16' if results.get('amp') else ''}) | {_spread(tr['ratio'])} | "
            f"{floor:.2f}× | {tr['ratio']['median'] / floor:.2f}× |")
    lines += ['', f"Diffusion share of DifNet-50 inference: {100 * inf['diffusion_share']:.1f}% "
              f"(paper 15%). DifNet-50 with conv+BN fused (mmcv `fuse_conv_bn`): "
              f"{inf['fused_conv_bn']['seconds']:.3f} s, "
              f"{_spread(inf['fused_conv_bn']['ratio'])} of the unfused."]
    if 'diffusion_profile' in inf:
        lines += ['', profile_markdown(inf['diffusion_profile'], sec['difnet50'])]
    if tr:
        lines.append(f"Training step: DifNet-50 {tr['seconds']['difnet50']:.2f} s, "
                     f"DeepLabV2-101 {tr['seconds']['deeplabv2_101']:.2f} s.")
    if tr and 'peak_gib' in tr:
        lines.append(f"Training peak memory: DifNet-50 {tr['peak_gib']['difnet50']:.2f} GiB, "
                     f"DeepLabV2-101 {tr['peak_gib']['deeplabv2_101']:.2f} GiB.")
    return '\n'.join(lines)


def profile_markdown(prof: Dict, total: float) -> str:
    """The diffusion profile: ms per step (summed over the walks, and per walk)."""
    T = prof['walks']
    lines = [f"Diffusion of DifNet-50 per step, ms (grid {prof['grid'][0]}×{prof['grid'][1]}; "
             f"walks 1..{T} on levels {', '.join('×'.join(map(str, lv)) for lv in prof['levels'])}"
             "; P·y and the algebra are the same code in both orders):", '',
             '| step | plain: conv, BN, pool | current | current per walk |',
             '|---|---:|---:|---|']
    for step in (*PROFILE_STEPS, 'total'):
        a, b = prof['plain'][step], prof['current'][step]
        a_t = a if step == 'total' else a['total']
        b_t = b if step == 'total' else b['total']
        per = '' if step == 'total' else ' / '.join(f'{1e3 * x:.1f}' for x in b['per_walk'])
        lines.append(f'| {step} | {1e3 * a_t:.1f} | {1e3 * b_t:.1f} | {per} |')
    share = {k: 100 * prof[k]['total'] / total for k in ('plain', 'current')}
    lines.append(f"| share of DifNet-50's {total:.3f} s | {share['plain']:.1f}% "
                 f"| {share['current']:.1f}% | |")
    widths = prof.get('P·y by Ψ width')
    if widths:
        lines += ['', 'P·y of one walk by the width d of Ψ (`walk_cfg.embed_channels`; the paper '
                  'and the default: 64): ' + ', '.join(
                      f'd = {d} {1e3 * t:.1f} ms' for d, t in widths.items()) + '.']
    return '\n'.join(lines)


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


DEPLOY_MODELS = (('DeepLabV2-MV2', 'deeplabv2_mv2-d8_camvid-240x320.py', (240, 320)),
                 ('DifNet-MV2', 'difnet_mv2-d8_camvid-240x320.py', (240, 320)),
                 ('DifNet-50', 'difnet_r50_voc.py', (505, 505)))
DEPLOY_BACKENDS = ('pytorch', 'onnxruntime', 'openvino')


def deploy_model(config: str):
    """The config's model with every BN γ in U(0.5, 1.5) (mmseg's ResNet starts some at 0,
    which an exporter may fold away), in an ExportWrapper giving logits."""
    from mmseg_difnet.deployment import ExportWrapper
    init_default_scope('mmseg')
    model = MODELS.build(model_cfg(config)).eval()
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.weight.data = torch.rand(m.weight.shape, generator=g) + 0.5
    return ExportWrapper(model, 'logits')


def deploy_runners(wrapper, path: str, threads: int) -> Dict[str, Callable]:
    """{backend: fn(image)} for one exported model at ``threads`` threads."""
    from mmseg_difnet.deployment.segmenter import Segmenter
    torch.set_num_threads(threads)

    def eager(image):
        with torch.no_grad():
            return wrapper(torch.from_numpy(image))
    return dict(pytorch=eager, onnxruntime=Segmenter(path, 'onnxruntime', threads).run,
                openvino=Segmenter(path, 'openvino', threads).run)


MEMORY_CASE = """
import sys, numpy as np
sys.path.insert(0, sys.argv[5])
backend, path, h, w = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
image = np.random.default_rng(0).uniform(0, 255, (1, 3, h, w)).astype(np.float32)
if backend == 'pytorch':
    import torch
    from benchmark import deploy_model
    torch.set_num_threads(1)
    model = deploy_model(sys.argv[6])
    run = lambda x: model(torch.from_numpy(x))
    with torch.no_grad():
        [run(image) for _ in range(3)]
else:
    sys.path.insert(0, sys.argv[7])
    from segmenter import Segmenter
    run = Segmenter(path, backend, 1).run
    [run(image) for _ in range(3)]
# VmHWM, not ru_maxrss: Linux carries the parent's peak into a child's ru_maxrss at fork
print(int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) / 1024)
"""


def deploy_table(rounds: int, repeats: int, threads_list=(1, 2)) -> List[Dict]:
    """Eager PyTorch vs ONNX Runtime vs OpenVINO per model and thread count."""
    import tempfile

    import numpy as np

    from mmseg_difnet.deployment import export_onnx
    here = osp.dirname(osp.abspath(__file__))
    seg_dir = osp.join(ROOT, 'mmseg_difnet', 'deployment')
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, config, (h, w) in DEPLOY_MODELS:
            wrapper = deploy_model(config)
            path = osp.join(tmp, f'{name}.onnx')
            t0 = time.perf_counter()
            export_onnx(wrapper, path, (1, 3, h, w), exporter='dynamo',
                        meta=dict(config=config, exporter='dynamo', output='logits'))
            export_s = time.perf_counter() - t0
            image = np.random.default_rng(0).uniform(0, 255, (1, 3, h, w)).astype(np.float32)
            peak = {}
            for backend in DEPLOY_BACKENDS:
                out = subprocess.run([sys.executable, '-c', MEMORY_CASE, backend, path,
                                      str(h), str(w), here, config, seg_dir],
                                     capture_output=True, text=True)
                if out.returncode:
                    raise RuntimeError(f'the memory case {backend} {name} failed:\n'
                                       + out.stderr[-3000:])
                peak[backend] = float(out.stdout.strip().splitlines()[-1])
            for threads in threads_list:
                runners = deploy_runners(wrapper, path, threads)
                times = interleaved({k: (lambda f=f: f(image)) for k, f in runners.items()},
                                    torch.device('cpu'), rounds, repeats)
                rows.append(dict(
                    model=name, config=config, size=[h, w], threads=threads,
                    export_s=export_s, seconds={k: statistics.median(v)
                                                for k, v in times.items()},
                    per_round=times, peak_rss_mb=peak,
                    ratio={k: ratio_stats(times[k], times['pytorch'])
                           for k in ('onnxruntime', 'openvino')}))
                print(deploy_markdown(dict(device_name='', deploy=rows[-1:])), flush=True)
    torch.set_num_threads(os.cpu_count() or 1)
    return rows


def deploy_markdown(results: Dict) -> str:
    lines = [f"### Deployed models: eager PyTorch vs ONNX Runtime vs OpenVINO "
             f"({results['device_name']})", '',
             'Logits at the image size, preprocessing included; medians of interleaved '
             'rounds; ratio to eager PyTorch: median (min-max over rounds); peak RSS of a '
             'fresh process (1 thread).', '',
             '| model | size | threads | PyTorch (s) | ONNX Runtime (s) | OpenVINO (s) '
             '| ORT / PyTorch | OpenVINO / PyTorch | peak MB PyTorch / ORT / OpenVINO |',
             '|---|---|---:|---:|---:|---:|---:|---:|---|']
    for r in results['deploy']:
        s, q, p = r['seconds'], r['ratio'], r['peak_rss_mb']
        lines.append(
            f"| {r['model']} | {r['size'][0]}×{r['size'][1]} | {r['threads']} | "
            f"{s['pytorch']:.3f} | {s['onnxruntime']:.3f} | {s['openvino']:.3f} | "
            + ' | '.join(f"{q[k]['median']:.2f}× ({q[k]['min']:.2f}-{q[k]['max']:.2f})"
                         for k in ('onnxruntime', 'openvino'))
            + f" | {p['pytorch']:.0f} / {p['onnxruntime']:.0f} / {p['openvino']:.0f} |")
    return '\n'.join(lines)


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
    parser.add_argument('--case', nargs=3, metavar=('IMPL', 'N', 'MODE'),
                        help=argparse.SUPPRESS)  # one diffusion case, in this process
    args = parser.parse_args(argv)
    if args.case:
        torch.set_flush_denormal(True)
        impl, N, mode = args.case
        print(json.dumps(diffusion_case(impl, int(N), mode, args.device,
                                        repeats=args.repeats)))
        return
    torch.set_flush_denormal(True)  # as DifNetRunner does for training and testing
    device = torch.device(args.device)
    name = (torch.cuda.get_device_name(device) if device.type == 'cuda' else
            f'CPU, {os.cpu_count()} cores, {platform.processor() or platform.machine()}')
    results = dict(device=args.device, device_name=f'{name}, torch {torch.__version__}')
    if 'models' in args.sections:
        results.update(models_and_costs(
            device, args.rounds, args.repeats, args.size, args.train_size, args.train_batch,
            args.dtype, args.concurrent, args.amp, not args.no_train_step))
    if 'diffusion' in args.sections:
        results['diffusion'] = diffusion_table(args.device, tuple(args.sides),
                                               rounds=args.diffusion_rounds)
    if 'compiled' in args.sections:
        results['compiled'] = compiled_table(device, args.rounds, args.repeats, args.size,
                                             args.dtype, args.concurrent,
                                             tuple(args.compile_configs))
    if 'deploy' in args.sections:
        if device.type != 'cpu':
            parser.error('--sections deploy measures the CPU runtimes: use --device cpu.')
        results['deploy'] = deploy_table(args.rounds, args.repeats)
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
