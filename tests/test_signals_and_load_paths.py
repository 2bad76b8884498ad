"""Signals as schedulers send them, the whole
checkpoint verified, every load path checked. Each test reproduces a fault that lost work or
scored the wrong model before its fix, with the real thing (real signals to the process
group, real torchrun, real mim)."""
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from helpers import ROOT, tiny_cfg

from mmseg_difnet.checkpoint import read_checkpoint


def _train_until(cmd, cwd, env, iteration, total):
    """Start ``cmd`` in its own session; return it with its output up to the line that logs
    ``iteration`` (or later) of ``total``."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        m = re.search(rf'Iter\(train\) \[\s*(\d+)/{total}\]', line)
        if m and int(m.group(1)) >= iteration:
            return proc, int(m.group(1)), ''.join(seen)
    proc.wait()
    pytest.fail('training ended before iteration %d:\n%s' % (iteration, ''.join(seen)[-3000:]))


def _job_ends(proc, timeout=120):
    """Wait until every process of ``proc``'s session has ended (workers included)."""
    try:
        proc.wait(timeout=timeout)
    finally:
        for _ in range(150):
            alive = subprocess.run(['pgrep', '-s', str(proc.pid)], capture_output=True).stdout
            if not alive:
                break
            time.sleep(0.2)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f'processes {alive.split()} of the job outlived it')


def _one_checkpoint(work, step_from, rest):
    saved = sorted(work.glob('iter_*.pth'))
    assert len(saved) == 1, rest[-3000:]
    step = int(saved[0].stem.split('_')[1])
    assert step_from <= step <= step_from + 2, (step_from, step)
    assert read_checkpoint(saved[0])['meta']['iter'] == step
    return step


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _signal_cfg(data_dir, tmp_path, workers=0):
    cfg = tiny_cfg(data_dir, tmp_path / 'work', iters=500)
    cfg.default_hooks.checkpoint.interval = 1000  # no periodic save before the signal
    cfg.train_dataloader.num_workers = workers
    cfg.train_dataloader.persistent_workers = workers > 0
    cfg.dump(str(tmp_path / 'cfg.py'))
    return str(tmp_path / 'cfg.py')


@pytest.mark.slow
@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGUSR1])
def test_a_signal_to_the_process_group_with_dataloader_workers_saves(data_dir, tmp_path, sig):
    """Slurm's scancel, systemd and ``kill -TERM -<pgid>`` signal every process of the job.
    The DataLoader workers used to die first and the trainer stopped with "DataLoader worker
    (pid N) is killed by signal: Terminated.", exit 1, nothing saved."""
    cfg = _signal_cfg(data_dir, tmp_path, workers=2)
    proc, seen, _ = _train_until([sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg],
                                 tmp_path, os.environ, 3, 500)
    os.killpg(proc.pid, sig)  # the trainer and its two workers
    rest = proc.stdout.read()
    _job_ends(proc)
    assert proc.returncode == 128 + sig, rest[-3000:]
    assert 'is killed by signal' not in rest
    step = _one_checkpoint(tmp_path / 'work', seen, rest)
    assert f'{sig.name}: stopped after iteration {step}, checkpoint iter_{step}.pth saved' in rest


@pytest.mark.slow
@pytest.mark.parametrize('sig,whom', [(signal.SIGUSR1, 'launcher'), (signal.SIGUSR1, 'job'),
                                      (signal.SIGTERM, 'launcher'), (signal.SIGTERM, 'job')])
def test_a_signal_under_torchrun_saves_on_both_ranks_and_exits_with_it(data_dir, tmp_path, sig,
                                                                       whom):
    """``tools/train.sh CFG 2``. SIGUSR1 (Slurm ``--signal=USR1@60``) used to kill torchrun's
    launcher, which does not catch it, and with it its workers: nothing saved, exit 138.
    SIGTERM saved but train.sh exited 1 with torchrun's SignalException traceback. Now the
    launcher relays both to the workers, which save together, and exits with 128 + the
    signal. 'job': the launcher's process group and the workers' (Slurm signals every
    process of the step; torchrun starts each worker in a session of its own)."""
    cfg = _signal_cfg(data_dir, tmp_path)
    env = dict(os.environ, PORT=str(_free_port()),
               PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    proc, seen, _ = _train_until(['bash', osp.join(ROOT, 'tools', 'train.sh'), cfg, '2'],
                                      tmp_path, env, 3, 500)
    ranks = subprocess.run(['pgrep', '-P', str(proc.pid)],  # the launcher's workers
                           capture_output=True, text=True).stdout.split()
    assert len(ranks) == 2, ranks
    if whom == 'launcher':
        os.kill(proc.pid, sig)  # train.sh execs the launcher
    else:
        os.killpg(proc.pid, sig)
        for pid in map(int, ranks):
            if os.getsid(pid) != proc.pid:
                os.kill(pid, sig)
    rest = proc.stdout.read()
    _job_ends(proc)
    for pid in map(int, ranks):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert proc.returncode == 128 + sig, rest[-3000:]
    assert 'Traceback' not in rest and 'SignalException' not in rest, rest[-3000:]
    step = _one_checkpoint(tmp_path / 'work', seen, rest)
    assert f'{sig.name}: stopped after iteration {step}' in rest  # rank 0 logs (rank 1: errors)
    assert f'torchrun: {sig.name}: ' in rest


# ---- item 3: the checkpoint must fit, on every load path ------------------------------------
def _synthetic_opts(data_dir):
    root = f'{data_dir}/VOCdevkit/VOC2012'
    return (f'val_dataloader.dataset.data_root={root} test_dataloader.dataset.data_root={root} '
            'model.data_preprocessor.size="(64,64)"')


def _saved(model, path):
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


@pytest.mark.slow
def test_mim_test_with_the_configs_own_custom_hooks_refuses_another_models_checkpoint(
        data_dir, tmp_path):
    """mmseg's test script builds mmengine's plain Runner; a config that sets its own
    ``custom_hooks`` (even ``[]``) used to drop the check, and ``mim test`` scored a
    DeepLabV2 checkpoint in a DifNet config (mIoU from a random classifier, exit 0)."""
    from mmengine.config import Config
    from mmseg.registry import MODELS

    import mmseg_difnet  # noqa: F401  (registers the models)
    cfg = Config.fromfile(f'{ROOT}/configs/difnet/deeplabv2_r18_synthetic.py')
    ckpt = _saved(MODELS.build(cfg.model), tmp_path / 'deeplabv2.pth')
    env = dict(os.environ, PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    proc = subprocess.run(
        f'mim test mmseg {ROOT}/configs/difnet/difnet_r18_synthetic.py --checkpoint {ckpt} '
        f'--work-dir w --cfg-options custom_hooks=[] {_synthetic_opts(data_dir)}',
        shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert re.search(r'the checkpoint loaded into the model does not fit this model '
                     r'\(DifNetEncoderDecoder of the config\): missing keys \d+ '
                     r'\(decode_head\.importance', out), out[-3000:]
    assert not re.search(r'Iter\(test\).*mIoU:', out)  # nothing scored


def test_every_load_path_refuses_a_checkpoint_of_another_class_count(data_dir, tmp_path):
    """init_model (mmseg's inference API) and a plain Runner without the package's hooks load
    with strict=False: a 5-class checkpoint into a 21-class config used to load all but the
    classifier and predict with a random one. ``model.check_checkpoint=False`` is the
    fine-tuning opt-out."""
    from mmengine.runner import Runner
    from mmseg.apis import init_model
    from mmseg.registry import MODELS, RUNNERS
    cfg = tiny_cfg(data_dir, tmp_path / 'w')
    five = MODELS.build(dict(cfg.model, decode_head=dict(cfg.model.decode_head, num_classes=5)))
    ckpt = _saved(five, tmp_path / 'five.pth')
    with pytest.raises(ValueError, match=r'shape mismatches 13 \(decode_head.conv_seg.*'
                       r'model.check_checkpoint=False'):
        init_model(cfg, ckpt, device='cpu')
    with pytest.raises(ValueError, match=rf"checkpoint '{ckpt}' does not fit"):
        RUNNERS.build(cfg).load_checkpoint(ckpt)  # DifNetRunner names the file
    cfg.custom_hooks = []  # mmengine's plain Runner, without the package's hooks
    with pytest.raises(ValueError, match='the checkpoint loaded into the model does not fit'):
        Runner.from_cfg(cfg).load_checkpoint(ckpt)
    cfg.model.check_checkpoint = False
    model = init_model(cfg, ckpt, device='cpu')  # what fits loads, the classifier does not
    torch.testing.assert_close(model.backbone.conv1.weight, five.backbone.conv1.weight)


# ---- item 4: the integrity record covers everything resume reads ----------------------------
def _train(data_dir, work_dir, iters, **cfg_updates):
    from mmseg.registry import RUNNERS
    cfg = tiny_cfg(data_dir, work_dir, iters=iters)
    cfg.train_cfg.update(val_interval=1000)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.update(cfg_updates)
    runner = RUNNERS.build(cfg)
    runner.train()
    return runner


@pytest.mark.slow
def test_one_flipped_bit_in_the_optimizer_state_is_caught(data_dir, tmp_path):
    """A checkpoint copied without its sidecar, one bit of its SGD momentum flipped, used to
    resume as "the newest valid checkpoint" (a small flip trained on silently; a large one
    surfaced later as NaN weights blamed on the learning rate)."""
    from mmseg_difnet.checkpoint import verify_checkpoint
    _train(data_dir, tmp_path, 4)
    for f in tmp_path.glob('*.sha256'):
        f.unlink()
    path = tmp_path / 'iter_4.pth'
    momentum = read_checkpoint(path)['optimizer']['state']
    big = max(momentum.values(), key=lambda s: s['momentum_buffer'].numel())['momentum_buffer']
    raw = big.contiguous().view(-1).view(torch.uint8).numpy().tobytes()
    data = bytearray(path.read_bytes())
    at = data.find(raw[:256])
    assert at > 0 and data.find(raw[:256], at + 1) < 0  # the momentum's bytes, found once
    data[at + 100] ^= 0x01  # one low mantissa bit: the loaded value differs by ~1e-7
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"iter_4.pth' is corrupt: its contents \(weights, "
                       r'optimizer state, schedule\) hash to'):
        verify_checkpoint(str(path))
    r = _train(data_dir, tmp_path, 4, resume=True)  # resume skips it for iter_2
    log = open(r.logger.log_file).read()
    assert re.search(r'skipping .*iter_4.pth: it cannot be used .*optimizer state', log)
    assert re.search(r'the newest valid checkpoint is .*iter_2.pth', log)


# ---- items 6-8: the work dir's record, a failed save's message, what a killed save left -----
def _hold_work_dir(work_dir):
    """The lock of a training that is still running (another process's, for the Runner)."""
    import fcntl
    os.makedirs(work_dir, exist_ok=True)
    holder = open(work_dir / '.train.lock', 'a+')
    holder.write('pid 12345 on elsewhere')
    holder.flush()
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return holder


def test_a_refused_run_leaves_the_running_runs_config_copy(data_dir, tmp_path):
    """A second training into a work dir in use is refused, but it used to overwrite the
    running run's config copy first (W/cfg.py then showed the refused run's lr)."""
    from mmengine.config import Config
    from mmseg.registry import RUNNERS
    work = tmp_path / 'w'
    holder = _hold_work_dir(work)
    cfg = tiny_cfg(data_dir, work)
    (work / 'cfg.py').write_text(cfg.pretty_text)  # the running run's copy
    running = (work / 'cfg.py').read_text()
    cfg.optim_wrapper.optimizer.lr = 0.5
    os.makedirs(tmp_path / 'other')
    cfg.dump(str(tmp_path / 'other' / 'cfg.py'))
    runner = RUNNERS.build(Config.fromfile(str(tmp_path / 'other' / 'cfg.py')))
    with pytest.raises(RuntimeError, match='is in use by a running training'):
        runner.train()
    assert (work / 'cfg.py').read_text() == running
    assert 'lr=0.5' in open(osp.join(runner.log_dir, 'cfg.py')).read()  # its own, aside
    holder.close()


def test_a_save_that_fails_for_another_reason_does_not_blame_space(data_dir, tmp_path):
    """Any failed save used to be reported as a disk-space problem ("it needs about 45 MB and
    68295 MB are free ... Free space"). A directory where the save's file must go stands in
    for a permission or read-only file system (this user is root)."""
    from mmseg.registry import RUNNERS
    cfg = tiny_cfg(data_dir, tmp_path, iters=2)
    cfg.default_hooks.checkpoint.interval = 2
    runner = RUNNERS.build(cfg)
    os.makedirs(tmp_path / f'.iter_2.pth.tmp{os.getpid()}' / 'x')  # in the way
    with pytest.raises(OSError, match=r"saving checkpoint '.*iter_2.pth' failed "
                       r'\(IsADirectoryError: .*\): not a lack of space \(\d+ MB are free in '
                       r".*\)\. The previous checkpoint and last_checkpoint are kept\. Fix what "
                       r'the error names \(permissions, a read-only or immutable file system, a '
                       r'file in the way\)') as e:
        runner.train()
    assert 'Free space' not in str(e.value) and 'it needs about' not in str(e.value)


def test_what_a_killed_save_left_is_removed_by_the_next_training(data_dir, tmp_path):
    """``kill -9`` during a save left ``.iter_N.pth.tmp<pid>`` (47 MB for DifNet-R18) that
    no later resume or save removed."""
    from mmseg.registry import RUNNERS
    left = [tmp_path / '.iter_2.pth.tmp4242', tmp_path / '.iter_2.pth.tmp4242.sha256']
    for f in left:
        f.write_bytes(b'\0' * 3 * 2**20 if f.suffix != '.sha256' else b'partial')
    keep = tmp_path / '.hidden_by_the_user'
    keep.write_text('not a checkpoint')
    cfg = tiny_cfg(data_dir, tmp_path, iters=1)
    cfg.default_hooks.checkpoint.interval = 1
    runner = RUNNERS.build(cfg)
    runner.train()
    assert not any(f.exists() for f in left) and keep.exists()
    assert re.search(r'removed .*\.iter_2\.pth\.tmp4242 \(3\.0 MB\), left by a save that was '
                     r'killed before it completed', open(runner.logger.log_file).read())


# ---- item 9: smaller ones ---------------------------------------------------------------
def test_label_messages_for_camvid_name_no_converter_and_say_colour(tmp_path):
    """CamVid has no dataset converter, yet a missing label's advice named one; an RGB
    (colour-coded) label was reported as bad label values without saying it has 3
    channels."""
    import numpy as np
    from helpers import generate_camvid_like
    from PIL import Image

    from mmseg_difnet.datasets import LoadAnnotationsChecked
    root = generate_camvid_like(str(tmp_path / 'camvid'))
    load = LoadAnnotationsChecked()
    image = osp.join(root, 'train', 'train_000.png')
    missing = osp.join(root, 'trainannot', 'gone.png')
    with pytest.raises(OSError, match=r"cannot read the label file '.*gone.png' .*Restore it "
                       r"from the dataset's source .*or remove its name from the split file"
                       ) as e:
        load(dict(img_path=image, seg_map_path=missing, seg_fields=[],
                  reduce_zero_label=False, ori_shape=(48, 64)))
    assert 'converter' not in str(e.value)
    colour = osp.join(root, 'trainannot', 'colour.png')
    Image.fromarray(np.full((48, 64, 3), (128, 64, 128), np.uint8)).save(colour)
    with pytest.raises(ValueError, match=r"label file '.*colour.png' has 3 channels "
                       r'\(64×48×3\): a label is one channel of class indices, and this looks '
                       r'like a colour-coded label'):
        load(dict(img_path=image, seg_map_path=colour, seg_fields=[],
                  reduce_zero_label=False, ori_shape=(48, 64)))


def test_a_typo_in_a_decode_head_key_gets_did_you_mean(data_dir, tmp_path):
    """``decode_head.num_classs=5`` used to end in "BaseDecodeHead.__init__() got an
    unexpected keyword argument 'num_classs'", naming neither the key nor the fix."""
    from mmseg.registry import MODELS
    cfg = tiny_cfg(data_dir, tmp_path)
    cfg.model.decode_head.num_classs = 5
    with pytest.raises(TypeError, match=r"model.decode_head.num_classs=5: DifNetHead takes no "
                       r"argument 'num_classs' \(did you mean 'num_classes'\?\)"):
        MODELS.build(cfg.model)
    cfg.model.decode_head.pop('num_classs')
    cfg.model.auxiliary_head = [dict(type='FCNHead', in_channels=512, channels=8, in_index=3,
                                     num_convs=1, num_classes=21, kernal_size=3)]
    with pytest.raises(TypeError, match=r"model.auxiliary_head\[0\].kernal_size=3: FCNHead "
                       r"takes no argument 'kernal_size' \(did you mean 'kernel_size'\?\)"):
        MODELS.build(cfg.model)


def test_mim_train_with_an_option_without_equals_is_in_the_troubleshooting_table(tmp_path):
    """``mim train`` runs mmseg's own train script, whose option parser (mmengine's
    ``DictAction``) fails before this package is imported: the raw message cannot be
    changed from here, so docs/troubleshooting.md's table names it and the fix
    (tools/train.py names the option itself)."""
    env = dict(os.environ, PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    cfg = f'{ROOT}/configs/difnet/difnet_r18_synthetic.py'
    proc = subprocess.run(f'mim train mmseg {cfg} --cfg-options train_cfg.max_iters', shell=True,
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    raw = 'ValueError: not enough values to unpack (expected 2, got 1)'
    assert proc.returncode != 0 and raw in proc.stdout + proc.stderr
    readme = open(osp.join(ROOT, 'docs', 'troubleshooting.md')).read()
    assert re.search(rf'\| `{re.escape(raw)}` from `mim train` / `mim test` with `--cfg-options`'
                     r' \| an option without `=`', readme)
    proc = subprocess.run([sys.executable, f'{ROOT}/tools/train.py', cfg, '--cfg-options',
                           'train_cfg.max_iters'], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and 'every option is KEY=VALUE' in proc.stderr
