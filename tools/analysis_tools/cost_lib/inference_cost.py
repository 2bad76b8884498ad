# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The paper's Table 4 measured side by side: DifNet-50 against DeepLabV2-101 at inference
(seed, similarity and diffusion branches, the whole models, mmcv's conv+BN fusion), the
diffusion's time per step, and a training step; ``tools/analysis_tools/benchmark.py
--sections models`` is the command."""
import copy
import statistics
from typing import Dict

import torch
import torch.nn.functional as F
from mmcv.cnn import fuse_conv_bn
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_difnet.deployment import switch_to_deploy
from mmseg_difnet.models.export_pooling import pool_to_grid
from mmseg_difnet.models.propagation import choose_impl, propagate
from mmseg_difnet.utils import for_one_process

from .flops import gflops
from .timing import autocast, interleaved, ratio_stats, spread

# The CamVid study's models (docs/studies/zoo.md), by arm: zoo_cost.py and postprocess_cost.py
ZOO_CONFIGS = dict(
    deeplabv2='configs/difnet/deeplabv2_mv2-d8_camvid-240x320_2k.py',
    difnet='configs/difnet/difnet_mv2-d8_camvid-240x320_2k.py',
    **{h: f'configs/zoo/{h}_mv2-d8_camvid-240x320_2k.py'
       for h in ('fcn', 'pspnet', 'deeplabv3', 'deeplabv3plus', 'nonlocal', 'ccnet')})


def model_cfg(path: str):
    """The model of a config file, with BN for one process and no pretrained download."""
    return for_one_process(Config.fromfile(path)).model


PROFILE_STEPS = ('embedding', 'norm', 'pooling', 'P·y', 'walk algebra')
NARROW_WIDTHS = (16, 32, 64)


def diffusion_profile(head, deployed, s: torch.Tensor, levels, device: torch.device,
                      rounds: int, repeats: int) -> Dict:
    """The diffusion's time per step and walk, inference: the embedding (Ψ's 1×1 conv), its
    norm, the pooling to the grid, P·y and the walk algebra of Eq. 5, each timed alone on
    the inputs it gets in the cascade, in the deploy form (``deployed``, the head after
    :func:`switch_to_deploy`: the norm folded into the conv, the image convolved and pooled
    in bands of rows, timed together as its embedding, the other levels pooled channels-last
    on a CPU, no pooling at the grid's size; 'current') and in the training form's order
    conv, BN, pool (``head``; 'plain'), interleaved."""
    grid = tuple(s.shape[-2:])
    fns, y = {}, s
    for t, (walk, fused, f) in enumerate(zip(head.walks, deployed.walks, levels)):
        conv, bn = walk.psi.conv, walk.psi.bn
        z = conv(f)
        zn = bn(z)
        psi = fused.embed(f, grid)  # (B, N, d)
        v = y.flatten(2).transpose(1, 2)  # (B, N, K)
        path = choose_impl(walk.impl, psi, v)[0]
        py = propagate(psi, v, path).transpose(1, 2).reshape(y.shape)
        mu, beta = walk.mu, walk.beta
        fns[f'plain/{t}/embedding'] = lambda conv=conv, f=f: conv(f)
        fns[f'plain/{t}/norm'] = lambda bn=bn, z=z: bn(z)
        fns[f'plain/{t}/pooling'] = lambda zn=zn: F.adaptive_max_pool2d(zn, grid)
        emb = fused.psi
        if emb.banded(f, grid):  # conv and pooling in one pass, in bands
            fns[f'current/{t}/embedding'] = lambda emb=emb, f=f: emb.pooled(f, grid)
        else:
            fns[f'current/{t}/embedding'] = lambda emb=emb, f=f: emb(f)
            fns[f'current/{t}/pooling'] = (lambda zf=emb(f): pool_to_grid(
                zf, grid, channels_last=not zf.is_cuda))
        fns[f'current/{t}/P·y'] = lambda psi=psi, v=v, path=path: propagate(psi, v, path)
        fns[f'current/{t}/walk algebra'] = (
            lambda py=py, y=y, mu=mu, beta=beta: beta * (mu * py + (1 - mu) * s) + (1 - beta) * y)
        y = fused(f, y, s)
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


def models_and_costs(device: torch.device, rounds: int, repeats: int, difnet_config: str,
                     deeplab_config: str, size: int = 505, train_size: int = 321,
                     train_batch: int = 2, dtype: str = 'fp32', concurrent: bool = False,
                     amp: bool = False, train: bool = True) -> Dict:
    """Table 4 (inference at ``size``, autocast to ``dtype``; DifNet-50 with its branches on
    two CUDA streams if ``concurrent``) and a training step (``train_batch`` images of
    ``train_size``, bf16 autocast if ``amp``; peak memory on CUDA), for the models of the
    two config files (the paper's: configs/difnet/difnet_r50_voc.py, deeplabv2_r101_voc.py)."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    difnet = MODELS.build(model_cfg(difnet_config)).to(device).eval()
    difnet.concurrent_branches = concurrent
    trained_head = copy.deepcopy(difnet.decode_head)  # the training form, for the profile
    switch_to_deploy(difnet)  # as tools/infer.py and the exporter run it
    deeplab = MODELS.build(model_cfg(deeplab_config)).to(device).eval()
    x = torch.randn(1, 3, size, size, device=device)
    res = dict(gflops=dict(difnet50=gflops(difnet, x), deeplabv2_101=gflops(deeplab, x)),
               dtype=dtype, concurrent_branches=concurrent, amp=amp)
    res['gflops']['ratio'] = res['gflops']['difnet50'] / res['gflops']['deeplabv2_101']
    head = difnet.decode_head
    with torch.no_grad(), autocast(device, dtype):
        tr = head.trace(difnet.extract_feat(x))
        levels, s = tr.levels, tr.s
        parts = interleaved(dict(
            seed=lambda: head.seed(difnet.backbone(x)),
            similarity=lambda: difnet.neck.similarity_levels(x),
            diffusion=lambda: head.cascade(s, levels)), device, rounds, repeats)
        totals = interleaved(dict(difnet50=lambda: difnet(x, mode='tensor'),
                                  deeplabv2_101=lambda: deeplab(x, mode='tensor')),
                             device, rounds, repeats)
        fused = fuse_conv_bn(copy.deepcopy(difnet))
        fused_t = interleaved(dict(difnet50_fused_bn=lambda: fused(x, mode='tensor'),
                                   difnet50=lambda: difnet(x, mode='tensor')),
                              device, rounds, repeats)
        profile = diffusion_profile(trained_head, head, s, levels, device, rounds, repeats)
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
             f"| inference | {spread(inf['ratio'])} | {floor:.2f}× | "
             f"{inf['ratio']['median'] / floor:.2f}× |"]
    if tr:
        lines.append(
            f"| training step ({tr['size']}×{tr['size']}, batch {tr['batch']}, fwd+bwd+SGD"
            f"{', AMP bf16' if results.get('amp') else ''}) | {spread(tr['ratio'])} | "
            f"{floor:.2f}× | {tr['ratio']['median'] / floor:.2f}× |")
    lines += ['', f"Diffusion share of DifNet-50 inference: {100 * inf['diffusion_share']:.1f}% "
              f"(paper 15%). DifNet-50 with conv+BN fused (mmcv `fuse_conv_bn`): "
              f"{inf['fused_conv_bn']['seconds']:.3f} s, "
              f"{spread(inf['fused_conv_bn']['ratio'])} of the unfused."]
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
             "; P·y and the algebra are the same code in both orders; 'current' convolves and "
             "pools a level with fewer channels than Ψ in bands of rows, timed together as its "
             "embedding):", '',
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
