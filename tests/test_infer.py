"""tools/infer.py on one's own image: the prediction and overlay, the diffusion sheet, and
clear errors for an unreadable image, a checkpoint of another model and --sheet without a
DifNet head."""
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
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
    page = tmp_path / 'out' / 'syn_val_00000_walks.html'  # the interactive page, and where
    assert page.is_file() and 'interactive page: out/syn_val_00000_walks.html' in proc.stdout


def test_visualize_diffusion_writes_a_page_per_image_of_a_folder(trained, tmp_path):
    import shutil
    (tmp_path / 'imgs').mkdir()
    for name in ('a.jpg', 'b.jpg'):
        shutil.copy(trained['image'], tmp_path / 'imgs' / name)
    tool = osp.join(ROOT, 'tools', 'analysis_tools', 'visualize_diffusion.py')
    proc = subprocess.run([sys.executable, tool, trained['cfg_path'], trained['ckpt'],
                           str(tmp_path / 'imgs'), '--html', str(tmp_path / 'pages')],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    sizes = [float(v) for v in re.findall(r'page: .*?\.html \(([0-9.]+) MB, 5 walks on',
                                          proc.stdout)]
    assert len(sizes) == 2 and all(0 < v < 10 for v in sizes), proc.stdout
    index = (tmp_path / 'pages' / 'index.html').read_text()
    assert 'href="a.html"' in index and 'href="b.html"' in index
    assert (tmp_path / 'pages' / 'a.html').stat().st_size > 10000


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


def test_files_that_are_not_checkpoints_are_named(trained, tmp_path):
    """A text file given as the checkpoint used to fail with `KeyError: 101`, and the .sha256
    beside a checkpoint with torch's advice to retry with weights_only=False."""
    text = tmp_path / 'notes.txt'
    text.write_text('epoch 1: loss 0.5\n')
    side = tmp_path / 'iter_3.pth.sha256'  # as DifNetRunner writes beside a checkpoint
    side.write_text('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  '
                    'iter_3.pth\n')
    for path, what in ((text, 'a text file'),
                       (side, 'the SHA-256 written beside a checkpoint')):
        proc = infer(trained['cfg_path'], path, trained['image'], cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert f"is not a PyTorch checkpoint ({what}" in proc.stderr
        assert 'weights_only' not in proc.stderr


def test_a_legacy_protocol_1_checkpoint_is_named_as_such():
    """torch's legacy format with pickle protocol 0 or 1 opens with its magic number as text:
    it used to be called "a text file"."""
    import tempfile

    import torch

    from mmseg_difnet.checkpoint.integrity import check_is_torch_file
    with tempfile.TemporaryDirectory() as d:
        for protocol in (0, 1):
            path = osp.join(d, f'p{protocol}.pth')
            torch.save({'state_dict': {'w': torch.ones(2)}}, path, pickle_protocol=protocol,
                       _use_new_zipfile_serialization=False)
            with pytest.raises(ValueError, match=r'legacy format written with pickle protocol '
                               r'0 or 1, .* re-save it once'):
                check_is_torch_file(path)
        torch.save({'w': torch.ones(2)}, osp.join(d, 'p2.pth'), pickle_protocol=2,
                   _use_new_zipfile_serialization=False)
        check_is_torch_file(osp.join(d, 'p2.pth'))  # protocol 2: the safe loader reads it


def test_visualize_diffusion_refuses_bad_inputs(trained, tmp_path):
    """It used to draw figures from a DeepLabV2 checkpoint in a DifNet config (walks
    untrained) with exit 0, clamp --points 500,500, wrap --points=-5,3 to the last node, and
    crash with AttributeError on a non-image."""
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS
    deeplab = MODELS.build(Config.fromfile(
        osp.join(ROOT, 'configs', 'difnet', 'deeplabv2_r18_synthetic.py')).model)
    torch.save(dict(state_dict=deeplab.state_dict()), tmp_path / 'deeplabv2.pth')
    not_image = tmp_path / 'a.jpg'
    not_image.write_text('hello')
    tool = osp.join(ROOT, 'tools', 'analysis_tools', 'visualize_diffusion.py')
    cases = [((tmp_path / 'deeplabv2.pth', trained['image']), 'does not fit this model'),
             ((trained['ckpt'], trained['image'], '--points', '500,500'),
              r'points \[\(500, 500\)\] \(x,y\) lie outside the image, which is 64×64'),
             ((trained['ckpt'], trained['image'], '--points=-5,3'),
              r'points \[\(-5, 3\)\] \(x,y\) lie outside'),
             ((trained['ckpt'], not_image), "image file '.*a.jpg' .* could not|is not an image")]
    import re
    for args, message in cases:
        proc = subprocess.run([sys.executable, tool, trained['cfg_path'], *map(str, args),
                               '--out', str(tmp_path / 'out')], capture_output=True, text=True)
        assert proc.returncode != 0 and re.search(message, proc.stderr), (args, proc.stderr[-2000:])
        assert 'Traceback' not in proc.stderr


def test_a_large_diffusion_grid_is_explained_and_shows_progress(trained, tmp_path):
    """A 3000×2000 photo used to run past 10 minutes without a word: the walks' P·y is
    O(N²) in the grid nodes. Above --warn-nodes the tool says so and reports each walk;
    --max-side shrinks the image first and the prediction is resized back."""
    import re
    proc = infer(trained['cfg_path'], trained['ckpt'], trained['image'], '--out', 'a',
                 '--warn-nodes', '10', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = re.search(r'the diffusion grid is (\d+)×(\d+) = (\d+) nodes: each of the 5 walks '
                  r'computes P·y, O\(N²\)', proc.stdout)
    assert m and int(m.group(1)) * int(m.group(2)) == int(m.group(3)) > 10, proc.stdout
    assert [int(t) for t in re.findall(r'walk (\d)/5 done', proc.stdout)] == [1, 2, 3, 4, 5]
    proc = infer(trained['cfg_path'], trained['ckpt'], trained['image'], '--out', 'b',
                 '--warn-nodes', '10', '--max-side', '40', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    small = re.search(r'= (\d+) nodes', proc.stdout)
    assert small is None or int(small.group(1)) < int(m.group(3))
    pred = np.asarray(Image.open(tmp_path / 'b' / 'syn_val_00000_pred.png'))
    assert pred.shape == (64, 64)


def _exif_rotated_jpeg(path, size=(128, 96)):
    """A JPEG stored ``size`` (W×H), its EXIF Orientation 6 ("rotate 90° to display"):
    left half dark, right half bright, so a rotation shows."""
    stored = np.zeros((size[1], size[0], 3), np.uint8)
    stored[:, size[0] // 2:] = 220
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    return stored


def test_exif_orientation_is_ignored_by_train_test_and_infer(trained, tmp_path):
    """A JPEG with EXIF Orientation=6 used to load rotated 90° (mmcv's default decoding)
    while its PNG label did not: silently misaligned when square, a size error blaming the
    label otherwise, and infer.py wrote a 96×128 prediction for a stored 128×96 photo. The
    rule now: the stored pixels, everywhere (as datasets define their labels)."""
    from mmcv.transforms import Compose
    from mmseg.utils import register_all_modules

    import mmseg_difnet  # noqa: F401
    register_all_modules()
    for size in ((128, 96), (96, 96)):
        photo = tmp_path / f'photo_{size[0]}.jpg'
        stored = _exif_rotated_jpeg(photo, size)
        label = tmp_path / f'label_{size[0]}.png'
        Image.fromarray((stored[..., 0] > 100).astype(np.uint8)).save(label)
        for pipeline in (trained['cfg'].train_pipeline, trained['cfg'].test_pipeline):
            load = Compose([t for t in pipeline if 'Load' in t['type']])
            out = load(dict(img_path=str(photo), seg_map_path=str(label), seg_fields=[],
                            reduce_zero_label=False))
            assert out['img'].shape[:2] == (size[1], size[0])
            assert np.abs(out['img'].astype(int) - stored[..., ::-1]).mean() < 3  # not rotated
            assert (out['gt_seg_map'] == (out['img'][..., 0] > 100)).mean() > 0.99  # aligned
    proc = infer(trained['cfg_path'], trained['ckpt'], tmp_path / 'photo_128.jpg', '--out', 'o',
                 cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert np.asarray(Image.open(tmp_path / 'o' / 'photo_128_pred.png')).shape == (96, 128)


def test_a_one_pixel_image_is_refused_with_its_size(trained, tmp_path):
    """A 1×1 image used to end infer.py in a traceback."""
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tmp_path / 'dot.png')
    proc = infer(trained['cfg_path'], trained['ckpt'], tmp_path / 'dot.png', cwd=tmp_path)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    assert re.search(r"cannot segment '.*dot.png' \(1×1 pixels\): DifNetHead: the seed head's "
                     r'score map is 1×1', proc.stderr), proc.stderr
