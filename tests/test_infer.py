"""tools/infer.py on one's own image: the prediction and overlay, the diffusion sheet, and
clear errors for an unreadable image, a checkpoint of another model and --sheet without a
DifNet head."""
import os.path as osp
import subprocess
import sys

import numpy as np
from helpers import ROOT
from PIL import Image

INFER = osp.join(ROOT, 'tools', 'infer.py')


def infer(*args, cwd):
    return subprocess.run([sys.executable, INFER, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True)


def test_infer_writes_overlay_and_sheet(trained, tmp_path):
    proc = infer(trained['cfg_path'], trained['ckpt'], trained['image'], '--out', 'out',
                 '--sheet', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pred = np.asarray(Image.open(tmp_path / 'out' / 'syn_val_00000_pred.png'))
    overlay = Image.open(tmp_path / 'out' / 'syn_val_00000_overlay.png')
    image = Image.open(trained['image'])
    assert pred.shape == image.size[::-1] and overlay.size == image.size
    assert pred.max() < 21
    assert (tmp_path / 'out' / 'syn_val_00000_study' / 'summary.png').is_file()


def test_infer_errors(trained, tmp_path):
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(b'not an image')
    proc = infer(trained['cfg_path'], trained['ckpt'], bad, cwd=tmp_path)
    assert proc.returncode == 2 and f"cannot read the image '{bad}'" in proc.stderr
    deeplab = osp.join(ROOT, 'configs', 'difnet', 'deeplabv2_r18_synthetic.py')
    proc = infer(deeplab, trained['ckpt'], trained['image'], '--sheet', cwd=tmp_path)
    assert proc.returncode == 2 and 'not a diffusion head' in proc.stderr
    proc = infer(deeplab, trained['ckpt'], trained['image'], cwd=tmp_path)
    assert proc.returncode == 2 and 'does not fit this model' in proc.stderr
