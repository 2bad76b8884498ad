"""The similarity switches beyond the paper (docs/reference_differences.md rows
18-20): a learned temperature of P, learning-rate multipliers for the walks' parameters, a
narrower Ψ. Values against an independent dense computation, fused = dense for values and
gradients, and the optimizer's groups as the config says."""
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from helpers import ROOT
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_difnet  # noqa: F401
from mmseg_difnet.checkpoint import walk_params_from_checkpoint
from mmseg_difnet.utils import for_one_process

CONFIGS = osp.join(ROOT, 'configs', 'difnet')


def _walk(**kwargs):
    torch.manual_seed(0)
    walk = MODELS.build(dict(type='RandomWalk', in_channels=6, embed_channels=8, **kwargs))
    walk.psi.bn.running_mean.uniform_(-1, 1)
    walk.psi.bn.running_var.uniform_(0.5, 2)
    return walk.double().eval()


def test_temperature_off_is_the_paper_walk():
    walk = _walk()
    assert walk.log_temperature is None and walk.temperature is None
    assert not any('temperature' in k for k in walk.state_dict())  # checkpoints unchanged


@pytest.mark.parametrize('impl', ['dense', 'fused', 'chunked'])
def test_learned_temperature_is_softmax_of_tau_psi_psi(impl):
    """y' = β (μ P y + (1 − μ) s) + (1 − β) y with P = softmax(τ Ψ Ψᵀ), Ψ the unscaled
    embedding computed here from the conv and norm; the gradient of log τ equals the dense
    path's."""
    walk = _walk(learn_temperature=True, impl=impl)
    assert walk.temperature.item() == 1.0  # starts as the paper's P
    with torch.no_grad():
        walk.log_temperature.fill_(math.log(2.0))
    g = torch.Generator().manual_seed(1)
    f = torch.randn(2, 6, 12, 10, generator=g, dtype=torch.float64)
    y = torch.randn(2, 5, 6, 5, generator=g, dtype=torch.float64)
    s = torch.randn(2, 5, 6, 5, generator=g, dtype=torch.float64)
    out = walk(f, y, s)
    z = F.adaptive_max_pool2d(walk.psi.bn(walk.psi.conv(f)), (6, 5))
    psi = z.flatten(2).transpose(1, 2)  # (B, N, d), unscaled
    P = torch.softmax(2.0 * psi @ psi.transpose(1, 2), dim=-1)  # (B, N, N)
    py = (P @ y.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(y.shape)
    mu, beta = walk.mu, walk.beta
    torch.testing.assert_close(out, beta * (mu * py + (1 - mu) * s) + (1 - beta) * y)
    grad = torch.autograd.grad(out.square().sum(), walk.log_temperature)[0]
    walk.impl = 'dense'
    ref = torch.autograd.grad(walk(f, y, s).square().sum(), walk.log_temperature)[0]
    assert ref.abs() > 1e-6
    torch.testing.assert_close(grad, ref)


def test_temperature_config_builds_and_every_walk_learns_it(tmp_path):
    init_default_scope('mmseg')
    cfg = for_one_process(Config.fromfile(osp.join(
        CONFIGS, 'difnet_mv2-d8-temperature_camvid-240x320_2k.py')))
    model = MODELS.build(cfg.model)
    assert [w.temperature.item() for w in model.decode_head.walks] == [1.0] * 5
    with torch.no_grad():
        for t, w in enumerate(model.decode_head.walks):
            w.log_temperature.fill_(math.log(t + 1.0))
    path = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    assert walk_params_from_checkpoint(str(path))['temperature'] == pytest.approx(
        [1.0, 2.0, 3.0, 4.0, 5.0])


def test_walk_lr_multipliers_reach_the_optimizer():
    """mu_logit, beta_logit and Ψ's conv and norm at 10× the base lr; everything else at it."""
    init_default_scope('mmseg')
    cfg = for_one_process(Config.fromfile(osp.join(
        CONFIGS, 'difnet_mv2-d8-walk-lr10_camvid-240x320_2k.py')))
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base = cfg.optim_wrapper.optimizer.lr
    lr_of = {id(p): g['lr'] for g in wrapper.optimizer.param_groups for p in g['params']}
    seen = dict(walk=0, other=0)
    for name, p in model.named_parameters():
        walk = name.startswith('decode_head.walks.') and (
            name.endswith(('.mu_logit', '.beta_logit')) or '.psi.' in name)
        assert lr_of[id(p)] == pytest.approx(base * (10 if walk else 1)), name
        seen['walk' if walk else 'other'] += 1
    assert seen['walk'] == 5 * 6  # per walk: μ, β, conv weight and bias, BN weight and bias


def test_narrow_psi_config_and_its_fused_path():
    init_default_scope('mmseg')
    cfg = for_one_process(Config.fromfile(osp.join(
        CONFIGS, 'difnet_mv2-d8-psi16_camvid-240x320_2k.py')))
    model = MODELS.build(cfg.model)
    assert {w.psi.conv.out_channels for w in model.decode_head.walks} == {16}
    walk = _walk()
    walk16 = MODELS.build(dict(type='RandomWalk', in_channels=6, embed_channels=16,
                               impl='fused')).double().eval()
    g = torch.Generator().manual_seed(2)
    f = torch.randn(1, 6, 16, 16, generator=g, dtype=torch.float64)
    y = torch.randn(1, 11, 8, 8, generator=g, dtype=torch.float64, requires_grad=True)
    s = torch.randn(1, 11, 8, 8, generator=g, dtype=torch.float64)
    fused = walk16(f, y, s)
    gf = torch.autograd.grad(fused.sum(), [y, walk16.psi.conv.weight])
    walk16.impl = 'dense'
    dense = walk16(f, y, s)
    gd = torch.autograd.grad(dense.sum(), [y, walk16.psi.conv.weight])
    torch.testing.assert_close(fused, dense)
    for a, b in zip(gf, gd):
        torch.testing.assert_close(a, b)
    assert walk.psi.conv.out_channels == 8
