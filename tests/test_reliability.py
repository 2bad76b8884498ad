"""Reliability: exact resume on current torch, and checkpoints that would run code refused."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from helpers import ROOT, Payload, tiny_cfg
from mmengine.runner import Runner

from mmseg_difnet.checkpoint import read_checkpoint

BIN = osp.dirname(sys.executable)


def train(data_dir, work_dir, iters, max_iters, resume=False):
    cfg = tiny_cfg(data_dir, work_dir, iters=max_iters)
    cfg.train_cfg.update(max_iters=iters, val_interval=1000)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.randomness = dict(seed=7, deterministic=True)
    cfg.resume = resume
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


@pytest.mark.slow
def test_resume_continues_exactly(data_dir, tmp_path):
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
    full = train(data_dir, tmp_path / 'full', 4, 4)
    full_losses = full.message_hub.get_scalar('train/loss').data[0]
    train(data_dir, tmp_path / 'cut', 2, 4)  # stopped after iteration 2
    assert osp.isfile(tmp_path / 'cut' / 'iter_2.pth')
    resumed = train(data_dir, tmp_path / 'cut', 4, 4, resume=True)
    losses = resumed.message_hub.get_scalar('train/loss').data[0]
    assert len(full_losses) == len(losses) == 4
    torch.testing.assert_close(torch.as_tensor(losses), torch.as_tensor(full_losses),
                               rtol=1e-5, atol=1e-6)
    for (name, a), b in zip(full.model.state_dict().items(),
                            resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    mus = [w.mu.item() for w in resumed.model.decode_head.walks]
    assert mus == pytest.approx([w.mu.item() for w in full.model.decode_head.walks], abs=1e-6)
    # optimizer momentum and scheduler state came back
    sa, sb = full.optim_wrapper.state_dict(), resumed.optim_wrapper.state_dict()
    for k, v in sa['state'].items():
        torch.testing.assert_close(v['momentum_buffer'], sb['state'][k]['momentum_buffer'],
                                   rtol=1e-5, atol=1e-6)
    assert full.param_schedulers[0].state_dict() == resumed.param_schedulers[0].state_dict()


@pytest.fixture
def evil_checkpoint(tmp_path):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Payload(marker)}, path)
    return path, marker


def run(cmd, cwd):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ['PATH'])
    return subprocess.run(cmd, cwd=cwd, env=env, shell=True, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize('how', ['tools/test.py', 'mim test', 'load_from'])
def test_checkpoint_that_runs_code_is_refused(evil_checkpoint, data_dir, tmp_path, how):
    path, marker = evil_checkpoint
    cfg = f'{ROOT}/configs/difnet/difnet_r18_synthetic.py'
    root = f'{data_dir}/VOCdevkit/VOC2012'
    opts = (f'--cfg-options val_dataloader.dataset.data_root={root} '
            f'test_dataloader.dataset.data_root={root}')
    if how == 'tools/test.py':
        proc = run(f'python {ROOT}/tools/test.py {cfg} {path} --work-dir w {opts}', tmp_path)
    elif how == 'mim test':
        proc = run(f'mim test mmseg {cfg} --checkpoint {path} --work-dir w {opts}', tmp_path)
    else:
        proc = run(f'python {ROOT}/tools/train.py {cfg} --work-dir w {opts} '
                   f'train_dataloader.dataset.datasets.0.data_root={root} '
                   f'train_dataloader.dataset.datasets.1.data_root={root} '
                   f'load_from={path} train_cfg.max_iters=1', tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert not marker.exists(), 'the payload ran'
    assert 'Weights only load failed' in out and 'system' in out, out[-3000:]


def test_legitimate_checkpoints_still_load(data_dir, tmp_path):
    runner = train(data_dir, tmp_path / 'ok', 2, 2)
    ckpt = read_checkpoint(tmp_path / 'ok' / 'iter_2.pth')  # weights-only, verified
    assert ckpt['meta']['iter'] == 2
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() == pytest.approx(
        runner.message_hub.get_scalar('train/loss').current())
    # a plain state dict and mmseg's own checkpoint layout load too
    torch.save({'state_dict': runner.model.state_dict(), 'meta': {'dataset_meta': {}}},
               tmp_path / 'plain.pth')
    assert set(read_checkpoint(tmp_path / 'plain.pth')['state_dict']) == set(
        runner.model.state_dict())
