"""A model with diffusion started from a plain model's checkpoint (``model.seed_checkpoint``):
its seed branch is that model; its output the paper's y_T; and WalkDiagnosticsHook, which
records why the walks learn, without changing the run."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import ROOT, batch, build, diffusion_cfg, plain_cfg, tiny_cfg
from mmengine.runner import Runner


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


@pytest.mark.parametrize('seed_head', ['DepthwiseSeparableASPPHead', 'PSPHead'])
def test_a_plain_checkpoint_is_the_seed_branch_and_the_output_is_y_t(tmp_path, seed_head):
    """``model.seed_checkpoint``: from a trained plain model's checkpoint, the score map x of
    the model with diffusion is the plain model's logits exactly, and x's argmax (the
    per-walk path's ``x`` row) is its prediction; the head's output is y_T (the paper's,
    Eq. 5), which differs from x."""
    plain = _trained_plain(seed_head)
    cfg = diffusion_cfg(seed_head)
    cfg.seed_checkpoint = _save(plain, tmp_path / 'plain.pth')
    model = build(cfg).eval()
    data = batch(model, [(64, 80), (64, 80)], seed=7)
    with torch.no_grad():
        want = plain(data['inputs'], mode='tensor')
        tr = model.decode_head.trace(model.extract_feat(data['inputs']))
        assert torch.equal(tr.x, plain.decode_head(plain.extract_feat(data['inputs'])))
        assert torch.equal(model.decode_head(model.extract_feat(data['inputs'])), tr.y[-1])
        assert not torch.allclose(model(data['inputs'], mode='tensor'), want)
        # mmseg's predict writes into the samples it is given: each call gets its own
        plain_pred = plain(data['inputs'], [d.clone() for d in data['data_samples']],
                           mode='predict')
        model.test_cfg['per_walk'] = True
        walked = model(data['inputs'], [d.clone() for d in data['data_samples']],
                       mode='predict')
    for a, b in zip(plain_pred, walked):
        assert torch.equal(b.pred_stage_x.data, a.pred_sem_seg.data)
    assert not hasattr(model.decode_head, 'gate')


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


def test_a_deeplabv2_checkpoint_is_difnets_seed(tmp_path):
    """The paper's pair: DifNetHead from a DeepLabV2 checkpoint: its score map x is
    DeepLabV2's logits exactly; its output is the diffused y_T."""
    from helpers import deeplabv2_cfg, difnet_cfg
    torch.manual_seed(0)
    plain = build(deeplabv2_cfg(depth=18)).eval()
    cfg = difnet_cfg(depth=18)
    cfg.seed_checkpoint = _save(plain, tmp_path / 'deeplabv2.pth')
    model = build(cfg).eval()
    data = batch(model, [(64, 64)])
    with torch.no_grad():
        want = plain(data['inputs'], mode='tensor')
        tr = model.decode_head.trace(model.extract_feat(data['inputs']))
        assert torch.equal(tr.x, plain.decode_head(plain.extract_feat(data['inputs'])))
        assert not torch.allclose(model(data['inputs'], mode='tensor'), want)


def test_train_py_diagnose_flag_writes_the_records(data_dir, tmp_path):
    """`tools/train.py CONFIG --diagnose N`, as typed in docs/diffusion_for_any_model.md."""
    cfg = tiny_cfg(data_dir, tmp_path / 'work', iters=2)
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), path, '--diagnose', '1'],
                   check=True, capture_output=True, text=True, cwd=tmp_path)
    with open(tmp_path / 'work' / 'walk_diagnostics.jsonl') as f:
        assert [json.loads(line)['iter'] for line in f] == [0, 1, 2]
