"""The refinement mode: output x + α (y_T − s) with α from 0, so a diffusion model
started from a plain checkpoint is that plain model (outputs, loss and the seed branch's
gradients) until α moves; DiffusionHead's default (DifNetHead keeps the paper's y_T); and
WalkDiagnosticsHook, which records why the walks learn, without changing the run."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import ROOT, batch, build, diffusion_cfg, plain_cfg, tiny_cfg
from mmengine.runner import Runner
from mmseg.registry import MODELS


def _save(model, path):
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path)


def _trained_plain(seed_head='DepthwiseSeparableASPPHead', steps=3):
    """A plain model after a few SGD steps (its BN statistics and weights away from init)."""
    torch.manual_seed(0)
    plain = build(plain_cfg(seed_head)).train()
    opt = torch.optim.SGD(plain.parameters(), lr=0.05, momentum=0.9)
    for step in range(steps):
        data = batch(plain, [(64, 64), (64, 64)], seed=step)
        losses = plain(**data, mode='loss')
        opt.zero_grad()
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        opt.step()
    return plain.eval()


def test_output_equation_and_gate_validation():
    torch.manual_seed(0)
    cfg = diffusion_cfg('FCNHead')
    cfg.decode_head.gate_init = 0.3
    model = build(cfg).eval()
    data = batch(model, [(48, 48)])
    with torch.no_grad():
        tr = model.decode_head.trace(model.extract_feat(data['inputs']))
        out = model(data['inputs'], mode='tensor')
    torch.testing.assert_close(tr.out, tr.x + 0.3 * (tr.y[-1] - tr.s))
    torch.testing.assert_close(out, tr.out)
    assert not torch.equal(tr.out, tr.y[-1])
    cfg.decode_head.gate_init = 'zero'
    with pytest.raises(ValueError, match="gate_init='zero' must be None"):
        MODELS.build(cfg)


@pytest.mark.parametrize('seed_head', ['DepthwiseSeparableASPPHead', 'PSPHead'])
def test_refinement_mode_starts_as_the_trained_plain_model(tmp_path, seed_head):
    """From a trained plain checkpoint, at iteration 0: the same logits and argmax on every
    pixel, the same loss, the same gradients for the seed branch; α gets a gradient, the walks
    none (they enter through α)."""
    plain = _trained_plain(seed_head)
    cfg = diffusion_cfg(seed_head)
    cfg.seed_checkpoint = _save(plain, tmp_path / 'plain.pth')  # gate_init=0: the default
    model = build(cfg).eval()
    assert model.decode_head.gate.item() == 0.0
    data = batch(model, [(64, 80), (64, 80)], seed=7)
    with torch.no_grad():
        want = plain(data['inputs'], data['data_samples'], mode='predict')
        got = model(data['inputs'], data['data_samples'], mode='predict')
    for a, b in zip(want, got):
        assert torch.equal(a.seg_logits.data, b.seg_logits.data)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
    model.test_cfg['per_walk'] = True  # the per-walk path predicts the same output
    with torch.no_grad():
        walked = model(data['inputs'], data['data_samples'], mode='predict')
    assert torch.equal(walked[0].pred_sem_seg.data, want[0].pred_sem_seg.data)
    assert torch.equal(walked[0].pred_stage_x.data, want[0].pred_sem_seg.data)

    plain.train(), model.train()
    plain.zero_grad(set_to_none=True)
    torch.manual_seed(3)  # the same dropout masks in both
    lp = plain(**data, mode='loss')
    torch.manual_seed(3)
    lm = model(**data, mode='loss')
    assert lp['decode.loss_ce'].item() == lm['decode.loss_ce'].item()
    sum(v for k, v in lp.items() if 'loss' in k).backward()
    sum(v for k, v in lm.items() if 'loss' in k).backward()
    mine = dict(model.named_parameters())
    for name, p in plain.named_parameters():
        new = name.replace('decode_head.', 'decode_head.seed_head.')
        torch.testing.assert_close(mine[new].grad, p.grad, rtol=1e-5, atol=1e-7)
    assert model.decode_head.gate.grad.abs() > 0
    for name, p in model.decode_head.walks.named_parameters():
        assert p.grad is None or not p.grad.any(), name


def test_defaults_diffusion_head_refines_difnet_head_is_the_papers(tmp_path):
    """DiffusionHead (diffusion behind a plain model's head) starts in the refinement mode,
    so the config that fine-tunes from a plain checkpoint also tests its checkpoint without
    it; DifNetHead keeps the paper's output y_T; each is a switch (gate_init)."""
    cfg = diffusion_cfg('PSPHead')
    assert MODELS.build(cfg).decode_head.gate.item() == 0.0
    cfg.decode_head.gate_init = None
    assert MODELS.build(cfg).decode_head.gate is None
    cfg.decode_head.gate_init = 0.5
    assert MODELS.build(cfg).decode_head.gate.item() == 0.5
    from helpers import difnet_cfg
    cfg = difnet_cfg(depth=18)
    assert MODELS.build(cfg).decode_head.gate is None
    cfg.decode_head.gate_init = 0.0
    assert MODELS.build(cfg).decode_head.gate.item() == 0.0


def _train(cfg, hook):
    if hook:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                            dict(type='WalkDiagnosticsHook', interval=2, probe_frames=2)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def test_walk_diagnostics_hook_records_and_leaves_the_run_unchanged(data_dir, tmp_path):
    ref = _train(tiny_cfg(data_dir, tmp_path / 'ref', iters=4), hook=False)
    run = _train(tiny_cfg(data_dir, tmp_path / 'diag', iters=4), hook=True)
    a, b = ref.model.state_dict(), run.model.state_dict()
    for k in a:  # the probe runs in eval mode and draws no random numbers
        assert torch.equal(a[k], b[k]), k
    with open(osp.join(run.work_dir, 'walk_diagnostics.jsonl')) as f:
        records = [json.loads(line) for line in f]
    assert [r['iter'] for r in records] == [0, 2, 4]
    assert [r['steps'] for r in records] == [0, 2, 2]
    groups = records[-1]['groups']
    assert {'mu_beta', 'Psi', 'H', 'seed_head', 'backbone', 'similarity'} <= set(groups)
    n_mu_beta = 2 * len(records[-1]['mu'])
    assert groups['mu_beta']['numel'] == n_mu_beta == 10
    for g, v in groups.items():
        assert v['grad_rms'] > 0 and v['norm'] > 0, g
    # the update recorded for μ, β equals the change of their logits between records
    head = run.model.decode_head
    logits = torch.stack([torch.stack([w.mu_logit, w.beta_logit]) for w in head.walks])
    assert logits.abs().sum() > 0
    np.testing.assert_allclose(records[-1]['mu'], head.walk_parameters()[0].tolist())
    first, last = records[0]['probe'], records[-1]['probe']
    assert all(p['tv_from_start'] == 0 for p in first['P'])
    assert any(p['tv_from_start'] > 0 for p in last['P'])
    assert all(0 < p['entropy'] <= 1 and 0 < p['row_max'] <= 1 for p in last['P'])
    assert len(last['walk_change']) == 5 and all(c > 0 for c in last['walk_change'])
    assert last['grad_norm']['y5'] > 0 and last['grad_norm']['out'] == last['grad_norm']['y5']
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'analysis_tools',
                                                       'walk_diagnostics.py'),
                          run.work_dir], capture_output=True, text=True, check=True).stdout
    assert 'parameter group' in out and 'mu_beta' in out and 'TV(P, P_start)' in out
    assert osp.getsize(osp.join(run.work_dir, 'walk_diagnostics.png')) > 10_000


def test_walk_diagnostics_tool_names_a_run_without_records(tmp_path):
    res = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'analysis_tools',
                                                       'walk_diagnostics.py'),
                          str(tmp_path)], capture_output=True, text=True)
    assert res.returncode != 0 and '--diagnose 50' in res.stderr


def test_a_deeplabv2_checkpoint_starts_difnet_as_deeplabv2(tmp_path):
    """The paper's pair: DifNetHead from a DeepLabV2 checkpoint predicts DeepLabV2's logits at
    iteration 0 in the refinement mode (gate_init=0), not in the paper's (its default)."""
    from helpers import deeplabv2_cfg, difnet_cfg
    torch.manual_seed(0)
    plain = build(deeplabv2_cfg(depth=18)).eval()
    cfg = difnet_cfg(depth=18)
    cfg.seed_checkpoint = _save(plain, tmp_path / 'deeplabv2.pth')
    cfg.decode_head.gate_init = 0.0
    model = build(cfg).eval()
    data = batch(model, [(64, 64)])
    with torch.no_grad():
        want = plain(data['inputs'], mode='tensor')
        assert torch.equal(model(data['inputs'], mode='tensor'), want)
        cfg.decode_head.gate_init = None
        paper = build(cfg).eval()
        assert not torch.allclose(paper(data['inputs'], mode='tensor'), want)


def test_train_py_diagnose_flag_writes_the_records(data_dir, tmp_path):
    """`tools/train.py CONFIG --diagnose N`, as typed in docs/diffusion_for_any_model.md."""
    cfg = tiny_cfg(data_dir, tmp_path / 'work', iters=2)
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), path, '--diagnose', '1'],
                   check=True, capture_output=True, text=True, cwd=tmp_path)
    with open(tmp_path / 'work' / 'walk_diagnostics.jsonl') as f:
        assert [json.loads(line)['iter'] for line in f] == [0, 1, 2]
