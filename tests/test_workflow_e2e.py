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
    run(f'python {ROOT}/tools/dataset_converters/generate_synthetic_voc.py '
        '--out data/synthetic_voc '
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


@pytest.mark.slow
def test_add_diffusion_to_a_trained_model(tmp_path):
    """docs/diffusion_for_any_model.md, as typed: train the plain DeepLabV3+, train the
    model with diffusion from its checkpoint (model.seed_checkpoint), test it per walk; on
    generated CamVid-layout frames, without the ImageNet weights."""
    from helpers import generate_camvid_like
    root = generate_camvid_like(str(tmp_path / 'camvid'), size=(96, 128))
    data = ' '.join(f'{s}_dataloader.dataset.data_root={root} {s}_dataloader.num_workers=1'
                    for s in ('train', 'val', 'test'))
    short = (f'--cfg-options {data} model.backbone.init_cfg=None train_cfg.max_iters=2 '
             'train_cfg.val_interval=2 default_hooks.checkpoint.interval=2 '
             'param_scheduler.0.end=2 default_hooks.logger.interval=1 ')
    plain = f'{ROOT}/configs/difnet/deeplabv3plus_mv2-d8_camvid-240x320.py'
    diffusion = f'{ROOT}/configs/difnet/difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320.py'
    run(f'PORT=29541 {ROOT}/tools/train.sh {plain} 1 --work-dir plain {short}', cwd=tmp_path)
    out = run(f'PORT=29542 {ROOT}/tools/train.sh {diffusion} 1 --work-dir diffusion {short}'
              f'model.seed_checkpoint=plain/iter_2.pth', cwd=tmp_path)
    assert re.search(r'seed branch loaded from plain/iter_2.pth \(\d+ tensors\); \d+ tensors '
                     r'start from their init: decode_head.importance, '
                     r'decode_head.walks', out)
    out = run(f'PORT=29543 {ROOT}/tools/test.sh {diffusion} diffusion/iter_2.pth 1 --per-walk '
              f'--work-dir test --cfg-options {data}', cwd=tmp_path)
    for key in ('mIoU', 'mIoU_x', 'mIoU_y5', 'mIoU_band2'):
        assert re.search(rf'\b{key}: [0-9.]+', out), key
