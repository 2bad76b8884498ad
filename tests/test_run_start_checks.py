"""What a run checks before its work, and says once: a resume with no usable checkpoint starts
from the beginning as it says; split files naming missing images, output paths that cannot be
written and export folders that do not exist are refused before any training, inference or
export, naming the value and the fix."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from helpers import ROOT, tiny_cfg
from mmseg.registry import RUNNERS


def _runner(data_dir, work_dir, iters, resume=False):
    cfg = tiny_cfg(data_dir, work_dir, iters=iters)
    cfg.train_cfg.update(val_interval=1000)
    cfg.default_hooks.checkpoint.update(interval=2)
    cfg.resume = resume
    return RUNNERS.build(cfg)


@pytest.mark.slow
def test_resume_with_every_checkpoint_unusable_starts_over_as_it_says(data_dir, tmp_path):
    _runner(data_dir, tmp_path, 2).train()
    with open(tmp_path / 'iter_2.pth', 'r+b') as f:  # a damaged file that last_checkpoint names
        f.truncate(100)
    r = _runner(data_dir, tmp_path, 4, resume=True)
    r.train()
    log = open(r.logger.log_file).read()
    assert 'resume: no valid checkpoint in' in log and 'training starts from the beginning' in log
    assert 'Auto resumed' not in log and 'resumed epoch' not in log
    assert r.iter == 4 and osp.isfile(tmp_path / 'iter_4.pth')
    assert open(tmp_path / 'last_checkpoint').read().strip().endswith('iter_4.pth')


def _voc(tmp_path):
    from mmseg_difnet.datasets import generate_synthetic_voc
    generate_synthetic_voc(str(tmp_path / 'data'), num_train=4, num_val=2, size=64, seed=3)
    return str(tmp_path / 'data'), tmp_path / 'data' / 'VOCdevkit' / 'VOC2012' / 'ImageSets' \
        / 'Segmentation'


@pytest.mark.slow
@pytest.mark.parametrize('split', ['train.txt', 'val.txt'])
def test_a_split_file_naming_a_missing_image_is_refused_before_training(tmp_path, split):
    data, sets = _voc(tmp_path)
    with open(sets / split, 'a') as f:
        f.write('frame_that_is_not_there\n')
    r = _runner(data, tmp_path / 'work', 2)
    with pytest.raises(FileNotFoundError, match=rf"the split file '.*{split}' of the "
                       r"(train|val)_dataloader dataset .* lists 1 name\(s\) whose files do "
                       r"not exist, e.g. \['.*frame_that_is_not_there.jpg', .*: remove those "
                       r"names"):
        r.train()
    assert r.iter == 0 and not [f for f in os.listdir(tmp_path / 'work') if f.endswith('.pth')]


def test_a_damaged_frame_to_be_scored_is_refused_before_testing(tmp_path):
    """The val and test pipelines load by mmseg's name (MMSegInferencer looks for it); the
    frames they score are checked once before the loop, as LoadImageChecked checks a
    training image: a truncated one and a damaged one, both named."""
    from mmseg_difnet.engine.run_checks import check_scored_images
    data, sets = _voc(tmp_path)
    names = [n.strip() for n in open(sets / 'val.txt')][:2]
    img_dir = sets.parent.parent / 'JPEGImages'
    cut = (img_dir / f'{names[0]}.jpg').read_bytes()
    (img_dir / f'{names[0]}.jpg').write_bytes(cut[:len(cut) // 2])
    bad = bytearray((img_dir / f'{names[1]}.jpg').read_bytes())
    sos, end = bad.find(b'\xff\xda'), bad.rfind(b'\xff\xd9')
    bad[sos + 40:end - 10] = bytes(end - 10 - sos - 40)
    (img_dir / f'{names[1]}.jpg').write_bytes(bytes(bad))
    r = _runner(data, tmp_path / 'work', 1)
    with pytest.raises(ValueError, match=rf"2 image\(s\) of the test_dataloader dataset .* "
                       rf"cannot be scored: image file '.*{names[0]}.jpg' is truncated.*"
                       rf"{names[1]}.jpg' is damaged"):
        check_scored_images(r, 'test_dataloader')


@pytest.mark.slow
def test_a_name_listed_twice_is_said(tmp_path):
    data, sets = _voc(tmp_path)
    first = open(sets / 'val.txt').readline()
    with open(sets / 'val.txt', 'a') as f:
        f.write(first)
    r = _runner(data, tmp_path / 'work', 1)
    r.train()
    log = open(r.logger.log_file).read()
    assert f"lists 1 name(s) more than once (e.g. ['{first.strip()}.jpg'])" in log


def _tool(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_an_output_that_cannot_be_written_is_refused_before_the_work(trained, tmp_path):
    """infer.py --out an existing file or a dangling link; pytorch2onnx.py into a missing
    folder: refused by name and with the fix, before the model is even built."""
    infer = osp.join(ROOT, 'tools', 'infer.py')
    (tmp_path / 'a_file').write_text('x')
    os.symlink(tmp_path / 'nowhere', tmp_path / 'dangling')
    for out, says in ((tmp_path / 'a_file', 'is an existing file, not a folder'),
                      (tmp_path / 'dangling', 'is a symbolic link to')):
        proc = _tool(infer, trained['cfg_path'], trained['ckpt'], trained['image'],
                     '--out', str(out))
        assert proc.returncode != 0 and says in proc.stderr and 'Traceback' not in proc.stderr
        assert '--out' in proc.stderr and 'prediction:' not in proc.stdout
    missing = tmp_path / 'no_such_folder' / 'model.onnx'
    proc = _tool(osp.join(ROOT, 'tools', 'deployment', 'pytorch2onnx.py'),
                 trained['cfg_path'], trained['ckpt'], str(missing), '--shape', '64', '64')
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert f"the folder {str(missing.parent)!r} does not exist: create it first" in proc.stderr
    assert not osp.exists(missing.parent)
