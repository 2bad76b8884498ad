"""Resume, the disk and the inputs: the right checkpoint, the disk and the advice.
Each test reproduces, with real tiny trainings in a real work dir, a fault that continued
the wrong run, filled the disk, or gave advice that could not work, before its fix."""
import os
import os.path as osp
import re

import pytest
import torch
from helpers import tiny_cfg
from mmengine.hooks import Hook
from mmseg.registry import HOOKS, RUNNERS

from mmseg_difnet.checkpoint import CheckpointMisfit, read_checkpoint


@HOOKS.register_module()
class StopAfterIterHook(Hook):
    """Ends the training loop after iteration ``at`` (a run stopped early, e.g. preempted)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 >= self.at:
            runner.train_loop.stop_training = True


def _runner(data_dir, work_dir, iters, interval=2, keep=-1, resume=False, stop_at=None,
            **updates):
    cfg = tiny_cfg(data_dir, work_dir, iters=iters)
    cfg.train_cfg.update(val_interval=1000)
    cfg.default_hooks.checkpoint.update(interval=interval, max_keep_ckpts=keep)
    if stop_at is not None:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                            dict(type='StopAfterIterHook', at=stop_at)]
    cfg.resume = resume
    cfg.update(updates)
    return RUNNERS.build(cfg)


def _ckpts(work_dir):
    return sorted(f for f in os.listdir(work_dir) if f.endswith(('.pth', '.sha256')))


@pytest.mark.slow
@pytest.mark.parametrize('keep', [1, 3])
def test_max_keep_ckpts_is_honoured(data_dir, tmp_path, keep):
    """SafeCheckpointHook appended to mmengine's deque(maxlen=keep), which drops ids without
    removing files: the CamVid study left all ten checkpoints with keep 1."""
    _runner(data_dir, tmp_path, 6, interval=1, keep=keep).train()
    newest = [f'iter_{i}.pth' for i in range(7 - keep, 7)]
    assert _ckpts(tmp_path) == sorted(newest + [f + '.sha256' for f in newest])
    assert open(tmp_path / 'last_checkpoint').read().strip().endswith('iter_6.pth')


@pytest.mark.slow
def test_resume_continues_the_run_last_checkpoint_names(data_dir, tmp_path):
    """Run A to iteration 8, then run B (another seed) into the same work dir, stopped after
    iteration 4: --resume took A's iter_8.pth, the highest number, and exited 0."""
    _runner(data_dir, tmp_path, 8).train()  # run A: iter_2 .. iter_8
    b = _runner(data_dir, tmp_path, 8, stop_at=4, randomness=dict(seed=7))
    b.train()
    log_b = open(b.logger.log_file).read()
    assert "holds checkpoints of another run (iter_8.pth, iter_6.pth, iter_4.pth" in log_b
    assert open(tmp_path / 'last_checkpoint').read().strip().endswith('iter_4.pth')
    b_weights = read_checkpoint(tmp_path / 'iter_4.pth')['state_dict']
    r = _runner(data_dir, tmp_path, 8, resume=True, randomness=dict(seed=7))
    r.train()
    log = open(r.logger.log_file).read()
    assert 'resume: continuing from' in log and 'iter_4.pth, which' in log
    assert '2 checkpoint(s) of later iterations (iter_8.pth, iter_6.pth) are another run' in log
    assert 'resumed epoch: 0, iter: 4' in log and r.iter == 8
    loaded = read_checkpoint(tmp_path / 'iter_6.pth')['meta']
    assert loaded['iter'] == 6
    # the resumed run went on from B's weights: its iter_6 is not A's iter_6 any more
    assert 'holds checkpoints of another run' not in log
    assert any(not torch.equal(v, b_weights[k]) for k, v in
               read_checkpoint(tmp_path / 'iter_6.pth')['state_dict'].items()
               if v.is_floating_point())


def test_a_refused_resume_changes_no_file_of_the_work_dir(data_dir, tmp_path):
    _runner(data_dir, tmp_path, 2).train()
    def files():  # every file but the lock, whose text names the process holding it
        return {f: open(tmp_path / f, 'rb').read() for f in os.listdir(tmp_path)
                if osp.isfile(tmp_path / f) and f != '.train.lock'}

    before = files()
    model = tiny_cfg(data_dir, tmp_path).model
    model.decode_head.num_classes = 3  # another model: the resume is refused
    r = _runner(data_dir, tmp_path, 2, resume=True, model=model)
    with pytest.raises(CheckpointMisfit):
        r.train()
    assert 'difnet_r18_synthetic.py' in before
    assert files() == before  # the config copy says what the checkpoints are


def test_resume_with_a_lower_lr_applies_it(data_dir, tmp_path):
    """The NaN stop says "lower the learning rate, then resume"; the checkpoint's optimizer
    state used to restore the old lr, so the same error followed."""
    _runner(data_dir, tmp_path, 4, stop_at=2).train()  # lr 0.01, stopped at iteration 2
    lr_ckpt = read_checkpoint(tmp_path / 'iter_2.pth')[
        'optimizer']['param_groups'][0]['lr']
    r = _runner(data_dir, tmp_path, 4, resume=True,
                optim_wrapper=dict(type='OptimWrapper',
                                   optimizer=dict(type='SGD', lr=0.001, momentum=0.9,
                                                  weight_decay=5e-4)))
    r.train()
    log = open(r.logger.log_file).read()
    assert "the config's learning rate 0.001 replaces the base learning rate 0.01" in log
    # mmengine's PolyLR over 4 iterations decays in end − begin − 1 = 3 steps: iteration 3
    # takes base · (1 − 2/3)^0.9, now with the base 0.001 (it took 0.01 · ... before)
    logged = {int(i): float(v) for i, v in re.findall(
        r'Iter\(train\) \[(\d)/4\].*?lr: ([0-9.e+-]+)', log)}
    assert logged[3] == pytest.approx(0.001 * (1 / 3) ** 0.9, rel=1e-3)
    assert lr_ckpt == pytest.approx(0.01 * (1 / 3) ** 0.9, rel=1e-6)


@pytest.fixture(scope='module')
def bomb(tmp_path_factory):
    """A real decompression bomb: a 20000 × 20000 PNG of about 1 MB."""
    from PIL import Image
    path = tmp_path_factory.mktemp('bomb') / 'bomb.png'
    Image.new('1', (20000, 20000)).save(path)
    assert path.stat().st_size < 2**21
    return str(path)


def test_a_decompression_bomb_is_refused_from_its_header(bomb, tmp_path, capsys):
    from mmseg.registry import TRANSFORMS

    from mmseg_difnet.datasets import imread_checked
    msg = r"bomb.png' \([0-9,]+ bytes\) is 20000×20000 = 400,000,000 pixels by its header"
    with pytest.raises(ValueError, match=msg):
        imread_checked(bomb)
    for t, key in ((dict(type='LoadImageChecked'), 'img_path'),
                   (dict(type='LoadAnnotationsChecked'), 'seg_map_path')):
        with pytest.raises(ValueError, match=msg):
            TRANSFORMS.build(t)(
                {key: bomb, 'img_path': bomb, 'seg_fields': [], 'reduce_zero_label': False})
    import runpy
    infer = runpy.run_path(osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                                    'infer.py'))  # the tool as a file, as users run it
    with pytest.raises(SystemExit):
        infer['main'](['CONFIG', 'CKPT', bomb, '--out', str(tmp_path)])
    assert '20000×20000 = 400,000,000 pixels' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        infer['main'](['CONFIG', 'CKPT', str(tmp_path)])
    assert 'is a folder: infer.py takes one image' in capsys.readouterr().err
    # the option: a higher limit lets a genuine large image through to the decoder
    from mmseg_difnet.datasets.load_image_checked import check_pixel_budget
    check_pixel_budget(open(bomb, 'rb').read(), bomb, max_pixels=400_000_000)


def test_header_sizes_of_jpeg_and_png_without_decoding():
    import cv2
    import numpy as np

    from mmseg_difnet.datasets.load_image_checked import _header_size
    img = np.zeros((30, 40, 3), np.uint8)
    for ext in ('.jpg', '.png', '.bmp'):
        assert _header_size(cv2.imencode(ext, img)[1].tobytes()) == (40, 30), ext
    assert _header_size(b'not an image') is None


def test_a_damaged_but_complete_jpeg_is_an_error(tmp_path):
    """40% of the scan data zeroed, the end marker kept: OpenCV returns an image and libjpeg
    only prints "Corrupt JPEG data" to stderr; it was trained on."""
    import cv2
    import numpy as np
    from mmseg.registry import TRANSFORMS

    from mmseg_difnet.datasets import imread_checked
    g = np.random.default_rng(0)
    img = cv2.GaussianBlur(g.integers(0, 256, (120, 160, 3), dtype=np.uint8), (5, 5), 0)
    good = cv2.imencode('.jpg', img)[1].tobytes()
    (tmp_path / 'good.jpg').write_bytes(good)
    assert imread_checked(str(tmp_path / 'good.jpg')).shape == (120, 160, 3)
    data = bytearray(good)
    sos, end = data.find(b'\xff\xda'), data.rfind(b'\xff\xd9')
    n = int(0.4 * (end - sos))
    at = sos + 20 + (end - sos) // 3
    data[at:at + n] = bytes(n)
    bad = tmp_path / 'bad.jpg'
    bad.write_bytes(bytes(data))
    assert cv2.imdecode(np.frombuffer(bytes(data), np.uint8), cv2.IMREAD_COLOR) is not None
    msg = r"bad.jpg' is damaged: the JPEG decoder reported \"Corrupt JPEG data"
    with pytest.raises(ValueError, match=msg):
        imread_checked(str(bad))
    with pytest.raises(ValueError, match=msg):  # training and testing load through this
        TRANSFORMS.build(dict(type='LoadImageChecked'))({'img_path': str(bad)})


def test_a_concat_dataset_option_names_the_keys_that_work(tmp_path):
    """``train_dataloader.dataset.data_root=`` on a config whose training set is a
    ConcatDataset (VOC aug, the synthetic demo) reached its constructor as a raw TypeError."""
    import subprocess
    import sys

    from helpers import ROOT
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'train.py'),
         osp.join(ROOT, 'configs', 'difnet', 'difnet_r18_synthetic.py'), '--work-dir',
         str(tmp_path), '--cfg-options', 'train_dataloader.dataset.data_root=/data'],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert ("train_dataloader.dataset is a ConcatDataset of 2 datasets, which has no "
            "'data_root'. Set it on each: train_dataloader.dataset.datasets.0.data_root=... "
            "train_dataloader.dataset.datasets.1.data_root=...") in proc.stderr


def test_a_work_dir_that_cannot_be_written_is_named_before_any_work(tmp_path):
    from mmseg_difnet.utils.runtime import check_writable
    blocker = tmp_path / 'file'
    blocker.write_text('')  # a work dir inside a file: as unwritable as a read-only mount
    with pytest.raises(SystemExit, match=r"the work dir .*file/w' cannot be written \(Not a "
                       r'directory\): give a writable one'):
        check_writable(str(blocker / 'w'), 'the work dir (--work-dir)')
    check_writable(str(tmp_path / 'ok'), 'the work dir')  # a writable one passes
    assert os.listdir(tmp_path / 'ok') == []  # and keeps no probe


@pytest.mark.slow
def test_a_rank_killed_under_torchrun_says_how_to_resume(data_dir, tmp_path):
    """A rank killed with -9 (the out-of-memory killer) ended in torchrun's raw
    ChildFailedError, no word of --resume."""
    import signal
    import socket
    import subprocess
    import sys

    from helpers import ROOT
    cfg = tiny_cfg(data_dir, tmp_path / 'work', iters=500)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.dump(str(tmp_path / 'cfg.py'))
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PORT=str(port),
               PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    proc = subprocess.Popen(['bash', osp.join(ROOT, 'tools', 'train.sh'), str(tmp_path / 'cfg.py'),
                             '2'], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in proc.stdout:
        if re.search(r'Iter\(train\) \[\s*2/500\]', line):
            break
    ranks = subprocess.run(['pgrep', '-P', str(proc.pid)], capture_output=True,
                           text=True).stdout.split()
    assert len(ranks) == 2, ranks
    os.kill(int(ranks[1]), signal.SIGKILL)
    rest = proc.stdout.read()
    proc.wait(timeout=120)
    assert proc.returncode == 1
    assert 'torchrun: rank 1 failed first (killed by SIGKILL)' in rest, rest[-3000:]
    assert 'with the same command plus --resume' in rest and 'ChildFailedError' not in rest


def test_two_runs_started_in_one_second_get_their_own_log_dir(data_dir, tmp_path):
    """mmengine names the log dir by the second: two tools/test.py runs on one work dir
    started in one second wrote one log holding both and one result JSON (the other lost).
    The dirs of the next seconds are taken here, as a run started a moment earlier leaves
    them; the new run must claim a fresh one (``<timestamp>_2``) and leave theirs alone."""
    import time
    now = time.time()
    taken = {time.strftime('%Y%m%d_%H%M%S', time.localtime(now + s)) for s in range(-1, 120)}
    for name in taken:
        os.makedirs(tmp_path / name)
        (tmp_path / name / 'other_run.log').write_text('another run\n')
    runner = _runner(data_dir, tmp_path, 2)
    base = osp.basename(runner.log_dir)
    assert base not in taken and base.rsplit('_', 1)[0] in taken and base.endswith('_2')
    assert runner.timestamp == base  # the visualizer's and the JSON's paths follow it
    for name in taken:
        assert os.listdir(tmp_path / name) == ['other_run.log']


@pytest.mark.slow
def test_a_resumed_run_ends_equal_to_the_run_never_stopped(data_dir, tmp_path):
    """The studies resume their runs across sessions. A run stopped after iteration 4 and
    resumed ends with the weights, BN statistics and optimizer state of the same run never
    stopped, bit for bit: mmengine's loop advances the data loader past the trained batches,
    and the sampler's and the loader worker's seeds come from the config."""
    def run(work_dir, stop_at=None, resume=False):
        cfg = tiny_cfg(data_dir, work_dir, iters=6)
        cfg.train_cfg.update(val_interval=1000)
        cfg.default_hooks.checkpoint.update(interval=2, max_keep_ckpts=-1)
        cfg.train_dataloader.update(num_workers=1, persistent_workers=False)  # as the studies
        cfg.randomness = dict(seed=3)
        if stop_at is not None:
            cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                                dict(type='StopAfterIterHook', at=stop_at)]
        cfg.resume = resume
        RUNNERS.build(cfg).train()

    run(tmp_path / 'whole')
    run(tmp_path / 'parts', stop_at=4)
    assert open(tmp_path / 'parts' / 'last_checkpoint').read().strip().endswith('iter_4.pth')
    run(tmp_path / 'parts', resume=True)
    whole, parts = (read_checkpoint(tmp_path / d / 'iter_6.pth') for d in ('whole', 'parts'))
    assert whole['meta']['iter'] == parts['meta']['iter'] == 6
    assert whole['state_dict'].keys() == parts['state_dict'].keys()
    for k, v in whole['state_dict'].items():
        assert torch.equal(v, parts['state_dict'][k]), k
    moments = [(s['momentum_buffer'], parts['optimizer']['state'][i]['momentum_buffer'])
               for i, s in whole['optimizer']['state'].items()]
    assert len(moments) == len(whole['state_dict']) - sum(
        'running_' in k or 'num_batches' in k for k in whole['state_dict'])
    assert all(torch.equal(a, b) for a, b in moments)
    # and the run learnt: its weights moved from iteration 4's
    at4 = read_checkpoint(tmp_path / 'parts' / 'iter_4.pth')['state_dict']
    assert any(not torch.equal(v, at4[k]) for k, v in whole['state_dict'].items())
