"""Run safety: never lose or mix a training run; every bad label caught at every stage. Each test
reproduces a fault that used to pass silently (or fail deep inside a library)."""
import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from helpers import ROOT, build, tiny_cfg
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner
from mmseg.registry import DATASETS, MODELS, RUNNERS
from PIL import Image

from mmseg_difnet.checkpoint import checked_loading, read_checkpoint

VOC = ('VOCdevkit', 'VOC2012')


def runner_for(data_dir, work_dir, iters, max_iters=None, **cfg_updates):
    cfg = tiny_cfg(data_dir, work_dir, iters=max_iters or iters)
    cfg.train_cfg.update(max_iters=iters, val_interval=1000)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.update(cfg_updates)
    return RUNNERS.build(cfg)


def test_runner_type_and_safety_hooks_survive_user_custom_hooks(data_dir, tmp_path):
    runner = runner_for(data_dir, tmp_path, 2,
                        custom_hooks=[dict(type='EMAHook', momentum=0.001)])
    names = {type(h).__name__ for h in runner.hooks}
    assert type(runner).__name__ == 'DifNetRunner'
    assert {'EMAHook', 'ConfigCheckHook', 'StopOnInvalidLossHook', 'SyncBuffersFromRank0Hook',
            'SafeCheckpointHook'} <= names


@pytest.mark.slow
def test_checkpoints_are_atomic_with_a_checksum_and_corruption_is_caught(data_dir, tmp_path):
    runner_for(data_dir, tmp_path, 4).train()
    for it in (2, 4):
        assert osp.isfile(tmp_path / f'iter_{it}.pth.sha256')
    assert not [f for f in os.listdir(tmp_path) if '.tmp' in f]  # no temporary left over
    # flipped bytes: loading names the file instead of loading silently
    path = tmp_path / 'iter_4.pth'
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    r = runner_for(data_dir, tmp_path / 'other', 4, load_from=str(path))
    with pytest.raises(ValueError, match=r"iter_4.pth' is corrupt: its SHA-256"):
        r.load_checkpoint(str(path))
    # resume skips the corrupt newest checkpoint for the previous valid one
    (tmp_path / 'last_checkpoint').write_text('')  # and an empty last_checkpoint is no error
    r = runner_for(data_dir, tmp_path, 4, resume=True)
    r.train()
    assert r.iter == 4
    log = open(r.logger.log_file).read()
    assert 'last_checkpoint is empty' in log and 'skipping' in log and 'iter_4.pth' in log
    assert 'the newest valid checkpoint is' in log and 'iter_2.pth' in log


@pytest.mark.slow
def test_truncated_newest_checkpoint_without_checksum_is_skipped(data_dir, tmp_path):
    runner_for(data_dir, tmp_path, 4).train()
    os.remove(tmp_path / 'iter_4.pth.sha256')
    with open(tmp_path / 'iter_4.pth', 'r+b') as f:
        f.truncate(1000)
    r = runner_for(data_dir, tmp_path, 4, resume=True)
    r.train()  # resumed at 2, trained 3..4 again
    assert r.iter == 4
    assert 'skipping' in open(r.logger.log_file).read()


@pytest.mark.slow
def test_a_kill_while_saving_keeps_the_previous_checkpoint(data_dir, tmp_path, monkeypatch):
    import mmengine.runner.runner as mm_runner
    runner_for(data_dir, tmp_path, 2, max_iters=4, default_hooks=dict(
        checkpoint=dict(max_keep_ckpts=1))).train()
    assert osp.isfile(tmp_path / 'iter_2.pth')

    def killed(checkpoint, filename, **kwargs):  # half a file, then the process dies
        with open(filename, 'wb') as f:
            f.write(b'partial')
        raise KeyboardInterrupt('killed while saving (simulated)')

    monkeypatch.setattr(mm_runner, 'save_checkpoint', killed)
    r = runner_for(data_dir, tmp_path, 4, resume=True,
                   default_hooks=dict(checkpoint=dict(max_keep_ckpts=1)))
    with pytest.raises(KeyboardInterrupt):
        r.train()
    assert osp.isfile(tmp_path / 'iter_2.pth') and not osp.isfile(tmp_path / 'iter_4.pth')
    monkeypatch.undo()
    assert [f for f in os.listdir(tmp_path) if '.tmp' in f]  # what the killed save left
    r = runner_for(data_dir, tmp_path, 4, resume=True)
    r.train()
    assert r.iter == 4
    assert not [f for f in os.listdir(tmp_path) if '.tmp' in f]  # used to stay (tens of MB)
    assert re.search(r'removed .*\.iter_4\.pth\.tmp\d+ \(\d+\.\d MB\), left by a save that was '
                     'killed', open(r.logger.log_file).read())


@pytest.mark.slow
def test_resume_with_a_changed_schedule_stops_instead_of_lr_zero(data_dir, tmp_path):
    runner_for(data_dir, tmp_path, 4).train()
    r = runner_for(data_dir, tmp_path, 8, max_iters=8, resume=True)
    with pytest.raises(RuntimeError, match=r'ends at 8 in the config but at 4 in .*iter_4.pth.*'
                       r'learning rate would stay at its final value'):
        r.train()


def test_a_longer_max_iters_with_the_old_schedule_stops_before_training(data_dir, tmp_path):
    """Only train_cfg.max_iters raised (6), the schedule still ending at 4: the iterations
    4-6 would train at lr 0; stopped before the first iteration, on a fresh run."""
    r = runner_for(data_dir, tmp_path, 6, max_iters=4)
    with pytest.raises(ValueError, match=r'param_scheduler\[0\] \(PolyLR\) ends at iteration 4 '
                       r'but train_cfg.max_iters=6: iterations 4-6 would train at the '
                       r"schedule's final learning rate \(0\).*param_scheduler.0.end=6"):
        r.train()
    assert r.iter == 0 and not list(tmp_path.glob('iter_*.pth'))


@pytest.mark.slow
def test_a_longer_max_iters_on_resume_stops_too(data_dir, tmp_path):
    """...and its advice works: it used to advise param_scheduler.0.end=6, which resume
    refuses in turn (a resumed run keeps its checkpoint's schedule)."""
    runner_for(data_dir, tmp_path, 4).train()
    r = runner_for(data_dir, tmp_path, 6, max_iters=4, resume=True)
    with pytest.raises(ValueError, match=r'ends at iteration 4 but train_cfg.max_iters=6.*'
                       r'drop --resume and give --cfg-options load_from=.*iter_4.pth '
                       r'train_cfg.max_iters=6 param_scheduler.0.end=6') as e:
        r.train()
    assert r.iter == 4
    load_from = re.search(r'load_from=(\S+)', str(e.value)).group(1)
    r = runner_for(data_dir, tmp_path / 'longer', 6, max_iters=6, load_from=load_from)
    r.train()  # the advice, followed
    assert r.iter == 6


@pytest.mark.slow
def test_resume_after_an_architecture_change_names_the_mismatch(data_dir, tmp_path):
    runner_for(data_dir, tmp_path, 2).train()
    cfg_update = dict(model=dict(decode_head=dict(num_classes=5)))
    cfg = tiny_cfg(data_dir, tmp_path, iters=4)
    cfg.merge_from_dict(cfg_update)
    cfg.resume = True
    cfg.custom_hooks = []  # the class check would fire first; the resume check is the Runner's
    r = RUNNERS.build(cfg)
    with pytest.raises(ValueError, match='does not fit this model.*shape mismatches.*Resume '
                       'only with the config'):
        r.train()


def test_one_training_per_work_dir(data_dir, tmp_path):
    import fcntl
    os.makedirs(tmp_path, exist_ok=True)
    holder = open(tmp_path / '.train.lock', 'a+')
    holder.write('pid 12345 on elsewhere')
    holder.flush()
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a training that is still running
    with pytest.raises(RuntimeError, match=r'is in use by a running training \(pid 12345 on '
                       r'elsewhere.*another --work-dir'):
        runner_for(data_dir, tmp_path, 1).train()
    holder.close()  # the holder died: its lock is gone with it, the stale file blocks nothing
    runner_for(data_dir, tmp_path, 1, default_hooks=dict(checkpoint=dict(interval=1))).train()
    assert osp.isfile(tmp_path / 'iter_1.pth')


def test_resume_with_load_from_is_an_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, f'{ROOT}/tools/train.py', f'{ROOT}/configs/difnet/difnet_r18_synthetic.py',
         '--work-dir', 'w', '--resume', '--cfg-options', 'load_from=other/iter_1.pth'],
        cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "load_from='other/iter_1.pth'" in proc.stderr and 'load_from=None' in proc.stderr


def test_workers_die_with_their_launcher(tmp_path):
    """The parent (standing in for torchrun) is killed with SIGKILL; its child, which called
    die_with_parent as DifNetRunner does under torchrun, ends too instead of training on."""
    pid_file = tmp_path / 'child.pid'
    child = ('import os, time; from mmseg_difnet.engine.worker_signals import die_with_parent; '
             f'die_with_parent(); open({str(pid_file)!r}, "w").write(str(os.getpid())); '
             'time.sleep(60)')
    parent = subprocess.Popen([sys.executable, '-c', (
        f'import subprocess, sys, time; subprocess.Popen([sys.executable, "-c", {child!r}]); '
        'time.sleep(60)')])
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    pid = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break  # the worker is gone
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail('the child outlived its killed parent')


# ---- labels, at every stage ------------------------------------------------------------------
def copy_data(data_dir, tmp_path):
    d = tmp_path / 'data'
    shutil.copytree(data_dir, d)
    return d


def val_runner(d, tmp_path):
    return Runner.from_cfg(tiny_cfg(str(d), tmp_path / 'w'))


def test_out_of_range_validation_label_is_an_error(data_dir, tmp_path):
    d = copy_data(data_dir, tmp_path)
    path = d.joinpath(*VOC, 'SegmentationClass', 'syn_val_00001.png')
    label = np.array(Image.open(path))
    label[3, 3] = 30  # VOC has 21 classes
    Image.fromarray(label).save(path)
    cfg = tiny_cfg(str(d), tmp_path / 'w')
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    model = MODELS.build(cfg.model).eval()
    data = pseudo_collate([dataset[1]])
    with pytest.raises(ValueError, match=r'validation/test: label values \[30\] in .*'
                       r'syn_val_00001.png lie outside \[0, 21\)'):
        model.val_step(data)  # what the ValLoop and TestLoop call


@pytest.mark.slow
def test_out_of_range_training_label_stops_the_run_before_its_step(data_dir, tmp_path):
    """The package's runtime checks every training batch on the CPU before the step
    (ConfigCheckHook calls the model's check_batch); the model's loss itself no longer does."""
    import glob
    d = copy_data(data_dir, tmp_path)
    for path in glob.glob(str(d.joinpath(*VOC, 'SegmentationClass', 'syn_train_*.png'))):
        label = np.array(Image.open(path))
        label[:] = 30  # VOC has 21 classes; every crop holds it
        Image.fromarray(label).save(path)
    runner = RUNNERS.build(tiny_cfg(str(d), tmp_path / 'w'))
    with pytest.raises(ValueError, match=r'training: label values \[30\] in .*'
                       r'syn_train_\d+.png lie outside \[0, 21\)'):
        runner.train()
    assert runner.iter == 0  # no step ran


def test_16_bit_label_is_checked_before_the_cast(data_dir, tmp_path):
    from mmseg.registry import DATASETS
    d = copy_data(data_dir, tmp_path)
    path = d.joinpath(*VOC, 'SegmentationClass', 'syn_val_00000.png')
    label = np.array(Image.open(path)).astype(np.uint16)
    label[5, 5] = 300  # would become 44 after mmseg's cast to uint8
    Image.fromarray(label).save(path)
    assert np.array(Image.open(path)).max() == 300
    dataset = DATASETS.build(tiny_cfg(str(d), tmp_path / 'w').val_dataloader.dataset)
    with pytest.raises(ValueError, match=r"syn_val_00000.png' stores values \[300\] above 255"):
        dataset[0]


@pytest.mark.parametrize('stage', ['train', 'val'])
def test_label_of_another_size_than_its_image(data_dir, tmp_path, stage):
    from mmseg.registry import DATASETS
    d = copy_data(data_dir, tmp_path)
    cfg = tiny_cfg(str(d), tmp_path / 'w')
    name = 'syn_train_00000.png' if stage == 'train' else 'syn_val_00000.png'
    path = d.joinpath(*VOC, 'SegmentationClass', name)
    Image.fromarray(np.array(Image.open(path))[:-3]).save(path)
    dataset = DATASETS.build(cfg.train_dataloader.dataset.datasets[0] if stage == 'train'
                             else cfg.val_dataloader.dataset)
    with pytest.raises(ValueError, match=rf"label file .*{name}' is 64×61 pixels but its "
                       r"image .*is 64×64"):
        dataset[0]


def test_nan_input_and_rgba_array_are_errors(data_dir, tmp_path):
    from mmseg.apis import inference_model
    from mmseg.structures import SegDataSample
    runner = val_runner(data_dir, tmp_path)
    model = runner.model.eval()
    x = torch.zeros(1, 3, 64, 64)
    x[0, 1, 7, 9] = float('nan')
    with pytest.raises(ValueError, match=r'holds 1 NaN/Inf values'):
        model.predict(x, [SegDataSample(metainfo=dict(img_shape=(64, 64),
                                                      ori_shape=(64, 64)))])
    model.cfg = runner.cfg
    rgba = np.zeros((64, 64, 4), np.uint8)
    with pytest.raises(ValueError, match=r'an input image has 4 channels.*COLOR_BGRA2BGR'):
        inference_model(model, rgba)


def test_class_count_checkpoint_error_names_the_fine_tuning_opt_out(data_dir, tmp_path):
    cfg = tiny_cfg(data_dir, tmp_path / 'b')
    other = MODELS.build(dict(cfg.model, decode_head=dict(cfg.model.decode_head,
                                                          num_classes=5)))
    torch.save({'state_dict': other.state_dict()}, tmp_path / 'five_classes.pth')
    cfg.load_from = str(tmp_path / 'five_classes.pth')
    with pytest.raises(ValueError, match=r"shape mismatches.*check_checkpoint=False"):
        RUNNERS.build(cfg).train()


def test_empty_split_file_is_named(data_dir, tmp_path):
    from mmseg_difnet.engine import DifNetRunner
    d = copy_data(data_dir, tmp_path)
    split = d.joinpath(*VOC, 'ImageSets', 'Segmentation', 'val.txt')
    split.write_text('')
    with pytest.raises(ValueError, match=rf"split file\(s\) \['{split}'\] list no images"):
        DifNetRunner.build_dataloader(tiny_cfg(str(d), tmp_path / 'w').val_dataloader)


def test_invalid_loss_hook_warns_nothing(data_dir, tmp_path):
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        runner_for(data_dir, tmp_path, 1).train()
    assert not [w for w in caught if 'requires_grad' in str(w.message)]


def test_a_typo_in_a_hook_argument_stops_before_training(data_dir, tmp_path):
    """default_hooks.checkpoint.intervall=2 used to train every iteration and fail at the
    first save (CheckpointHook passes unknown arguments on to Runner.save_checkpoint)."""
    cfg = tiny_cfg(data_dir, tmp_path, iters=2)
    cfg.default_hooks.checkpoint.intervall = 2
    cfg.custom_hooks = [dict(type='ConfigCheckHook', check_checkpiont=False)]
    with pytest.raises(ValueError, match=r"custom_hooks\[0\].check_checkpiont=False: "
                       r"ConfigCheckHook takes no argument 'check_checkpiont' \(did you mean "
                       r"'check_checkpoint'\?\); "
                       r"default_hooks.checkpoint.intervall=2: CheckpointHook takes no argument "
                       r"'intervall' \(did you mean 'interval'\?\)"):
        RUNNERS.build(cfg)
    assert not list(tmp_path.glob('iter_*.pth'))
    cfg.default_hooks.checkpoint.pop('intervall')
    cfg.custom_hooks = [dict(type='ConfigCheckHook', check_checkpoint=False)]
    cfg.default_hooks.checkpoint.update(save_last=True, save_optimizer=False)  # its own; and
    RUNNERS.build(cfg)  # save_optimizer, an argument it passes on to save_checkpoint


def _flip_weight_bytes(path):
    """Flip 4 bytes inside the largest tensor's data: torch still loads the file."""
    state = read_checkpoint(path)['state_dict']
    key = max(state, key=lambda k: state[k].numel())
    raw = state[key].contiguous().view(-1).view(torch.uint8).numpy().tobytes()
    data = bytearray(path.read_bytes())
    at = data.find(raw[:256]) + 512
    assert at > 512
    for i in range(4):
        data[at + i] ^= 0xFF
    path.write_bytes(bytes(data))
    return key


@pytest.mark.slow
def test_the_integrity_record_travels_with_the_checkpoint(data_dir, tmp_path):
    """Flipped weights in a checkpoint copied without its .sha256 used to load silently
    (tools/test.py and tools/infer.py exited 0; resume took it as the newest valid one)."""
    import shutil

    from mmseg.apis import init_model
    runner_for(data_dir, tmp_path / 'run', 4).train()
    ckpt = read_checkpoint(tmp_path / 'run' / 'iter_4.pth')
    assert set(ckpt['meta']['integrity']) == {'content_sha256', 'written_by'}
    moved = tmp_path / 'copied' / 'renamed.pth'
    moved.parent.mkdir()
    shutil.copy(tmp_path / 'run' / 'iter_4.pth', moved)  # no sidecar travels with it
    _flip_weight_bytes(moved)
    cfg = tiny_cfg(data_dir, tmp_path / 'x')
    for load in (lambda: init_model(cfg, str(moved), device='cpu'),
                 lambda: Runner.from_cfg(dict(  # mmengine's plain Runner, no custom hooks
                     tiny_cfg(data_dir, tmp_path / 'y'), custom_hooks=[],
                     load_from=str(moved))).test()):
        with checked_loading(), pytest.raises(
                ValueError, match=r"renamed.pth' is corrupt: its contents "
                r'\(weights, optimizer state, schedule\) hash to '
                r'.* the integrity record written into it'):
            load()
    # resume in a work dir without sidecars skips the flipped newest checkpoint
    for f in (tmp_path / 'run').glob('*.sha256'):
        f.unlink()
    _flip_weight_bytes(tmp_path / 'run' / 'iter_4.pth')
    r = runner_for(data_dir, tmp_path / 'run', 4, resume=True)
    r.train()
    log = open(r.logger.log_file).read()
    assert 'skipping' in log and 'the newest valid checkpoint is' in log and 'iter_2.pth' in log


@pytest.mark.slow
def test_another_runs_checkpoint_is_not_called_corrupt(data_dir, tmp_path):
    runner_for(data_dir, tmp_path / 'a', 2).train()
    runner_for(data_dir, tmp_path / 'b', 2, randomness=dict(seed=1)).train()
    (tmp_path / 'a' / 'iter_2.pth').write_bytes((tmp_path / 'b' / 'iter_2.pth').read_bytes())
    from mmseg.apis import init_model
    with pytest.raises(ValueError, match=r'is intact .* but it is not the file that '
                       r'iter_2.pth.sha256 describes: another checkpoint was copied'), \
            checked_loading():
        init_model(tiny_cfg(data_dir, tmp_path / 'x'), str(tmp_path / 'a' / 'iter_2.pth'),
                   device='cpu')


def test_a_checkpoint_without_a_record_loads_with_a_notice(tmp_path):
    from helpers import deeplabv2_cfg, logged
    from mmengine.runner import load_checkpoint
    model = build(deeplabv2_cfg())
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'other_tool.pth')
    with checked_loading():  # the package's loading (its Runner, tools, CheckedLoadingHook)
        messages, _ = logged(lambda: load_checkpoint(model, str(tmp_path / 'other_tool.pth')))
    assert any('has no integrity record (not written by mmseg-difnet): loaded unverified' in m
               for m in messages)


@pytest.mark.slow
@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGUSR1])
def test_a_signal_saves_at_the_next_iteration_and_stops(data_dir, tmp_path, sig):
    """SIGTERM used to end training within 2 s without saving: everything since the last
    periodic checkpoint was lost. Now tools/train.py finishes the iteration in flight, saves
    it, and exits with 128 + the signal."""
    import re
    cfg = tiny_cfg(data_dir, tmp_path / 'work', iters=500)
    cfg.default_hooks.checkpoint.interval = 1000  # no periodic save before the signal
    cfg.dump(str(tmp_path / 'cfg.py'))
    proc = subprocess.Popen([sys.executable, osp.join(ROOT, 'tools', 'train.py'),
                             str(tmp_path / 'cfg.py')], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = 0
    for line in proc.stdout:  # wait for iteration 3
        m = re.search(r'Iter\(train\) \[\s*(\d+)/500\]', line)
        if m and int(m.group(1)) >= 3:
            seen = int(m.group(1))
            proc.send_signal(sig)
            break
    rest = proc.stdout.read()
    assert proc.wait(timeout=120) == 128 + sig, rest[-3000:]
    saved = sorted((tmp_path / 'work').glob('iter_*.pth'))
    assert len(saved) == 1, saved
    step = int(saved[0].stem.split('_')[1])
    assert seen <= step <= seen + 2  # the iteration in flight, at most
    assert f'{sig.name}: stopped after iteration {step}, checkpoint iter_{step}.pth saved' in rest
    assert (tmp_path / 'work' / 'last_checkpoint').read_text().strip().endswith(saved[0].name)
    assert read_checkpoint(saved[0])['meta']['iter'] == step
    assert osp.isfile(str(saved[0]) + '.sha256')


@pytest.mark.slow
def test_a_save_that_runs_out_of_space_cleans_up_and_keeps_the_previous(data_dir, tmp_path):
    """A save that could not be completed used to leave a hidden partial .iter_N.pth.tmp… of
    tens of MB (so resuming in place failed again) and a raw OSError naming no checkpoint.
    The file-size limit (RLIMIT_FSIZE) stands in for a full disk: the write fails midway."""
    import resource
    runner_for(data_dir, tmp_path, 2, max_iters=4).train()  # the first half of a 4-iteration run
    size = (tmp_path / 'iter_2.pth').stat().st_size
    cfg = tiny_cfg(data_dir, tmp_path, iters=4)
    cfg.train_cfg.update(max_iters=4, val_interval=1000)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.dump(str(tmp_path / 'cfg.py'))

    def limit():  # Python ignores SIGXFSZ, so the write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (size // 2, size // 2))
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'),
                           str(tmp_path / 'cfg.py'), '--resume'], capture_output=True,
                          text=True, timeout=300, preexec_fn=limit)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(r"saving checkpoint '.*iter_4.pth' failed \(OSError: .*File too large.*\): "
                     r'it needs about \d+ MB and \d+ MB are free in .*The previous checkpoint '
                     r'and last_checkpoint are kept', out), out[-3000:]
    assert not [f for f in os.listdir(tmp_path) if '.tmp' in f]  # no partial file left
    assert (tmp_path / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    assert not (tmp_path / 'iter_4.pth').exists()
    r = runner_for(data_dir, tmp_path, 4, resume=True)  # space again: resumes in place
    r.train()
    assert r.iter == 4


@pytest.mark.slow
def test_resuming_with_another_number_of_processes_says_so(data_dir, tmp_path):
    """A run trained by 2 processes × 2 images resumed by 1 process used to take 2 images per
    step instead of 4 without a word."""
    cfg = tiny_cfg(data_dir, tmp_path, iters=4)
    cfg.train_cfg.update(max_iters=2, val_interval=1000)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.dump(str(tmp_path / 'cfg.py'))
    env = dict(os.environ, PORT='29573', PATH=osp.dirname(sys.executable) + os.pathsep
               + os.environ['PATH'])
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'train.sh'), str(tmp_path / 'cfg.py'),
                           '2'], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    meta = read_checkpoint(tmp_path / 'iter_2.pth')['meta']
    assert (meta['world_size'], meta['batch_per_process']) == (2, 2)
    r = runner_for(data_dir, tmp_path, 4, resume=True)
    r.train()
    log = open(r.logger.log_file).read()
    assert re.search(r"resume: '.*iter_2.pth' was trained with 2 process\(es\) × 2 images = 4 "
                     r'images per step, this run takes 1 × 2 = 2', log)
