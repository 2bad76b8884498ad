"""The user's workflow, typed as in the README: generate data, `tools/train.sh <demo
config> 2` (two processes, gloo on CPU), then `mim test mmseg <config> --checkpoint`."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from helpers import ROOT

BIN = osp.dirname(sys.executable)


def run(cmd, cwd):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ['PATH'])
    proc = subprocess.run(cmd, cwd=cwd, env=env, shell=True, capture_output=True, text=True,
                          timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{cmd} failed:\n{out[-4000:]}'
    return out


def generate_data(cwd, train, val):
    # the demo configs point at data/synthetic_voc relative to the working directory
    run(f'python {ROOT}/tools/generate_synthetic_voc.py --out data/synthetic_voc '
        f'--train {train} --val {val} --size 64', cwd=cwd)


def short_run(iters):
    return (f'--work-dir work --cfg-options train_cfg.max_iters={iters} '
            f'train_cfg.val_interval={iters} default_hooks.checkpoint.interval={iters} '
            'train_dataloader.batch_size=2')


@pytest.mark.slow
def test_train_sh_then_mim_test(tmp_path):
    generate_data(tmp_path, 8, 4)
    cfg = f'{ROOT}/configs/difnet/difnet_r18_synthetic.py'
    out = run(f'PORT=29533 {ROOT}/tools/train.sh {cfg} 2 {short_run(4)}', cwd=tmp_path)
    assert 'Iter(train) [4/4]' in out
    ckpt = tmp_path / 'work' / 'iter_4.pth'
    assert ckpt.is_file()
    out = run(f'mim test mmseg {cfg} --checkpoint {ckpt} --work-dir test', cwd=tmp_path)
    miou = re.findall(r'mIoU: ([0-9.]+)', out)
    assert miou and 0.0 <= float(miou[-1]) <= 100.0, out[-2000:]


@pytest.mark.slow
def test_mim_train(tmp_path):
    """`mim train mmseg CONFIG` (mmseg's own tools/train.py) finds the plugin on its own."""
    generate_data(tmp_path, 4, 2)
    cfg = f'{ROOT}/configs/difnet/deeplabv2_r18_synthetic.py'
    out = run(f'mim train mmseg {cfg} {short_run(2)}', cwd=tmp_path)
    assert 'Iter(train) [2/2]' in out and re.search(r'mIoU: [0-9.]+', out)
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
