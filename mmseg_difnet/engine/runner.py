# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""A Runner that never loses or mixes a run (docs/troubleshooting.md).

The project's runtime base sets ``runner_type = 'DifNetRunner'``; mmseg's train script
(``mim train``) and this package's tools build it. mmseg's test script (``mim test``) builds
mmengine's plain ``Runner``: there the model itself refuses a checkpoint that does not fit
(:class:`CheckedEncoderDecoder`) and the loader verifies its integrity, whatever the config's
``custom_hooks``; the configs' ``custom_hooks`` give the other checks, but CPU denormals are
not flushed. The Runner adds:

- the safety hooks are merged into any user ``custom_hooks`` (never replaced);
- checkpoints are written to a temporary file and renamed, with an integrity record of
  everything resume reads (weights, optimizer state, schedule) inside and a SHA-256 beside
  them (``iter_N.pth.sha256``), both verified by every load (:mod:`.integrity`); old ones
  are removed only after the new one is complete (:class:`SafeCheckpointHook`); what a
  killed save left is removed when the next training takes the work dir;
- ``resume`` without ``load_from`` takes the newest *valid* checkpoint of the work dir,
  skipping (and naming) corrupt ones; a schedule whose end changed since the checkpoint
  stops with a message instead of training at learning rate 0;
- one training per work dir: an exclusive ``flock`` on ``<work_dir>/.train.lock``, which
  the kernel releases when the holder dies, so a crashed run never blocks the next; a run
  refused there leaves the running one's config copy as it is;
- workers started by torchrun die with their launcher (Linux ``PR_SET_PDEATHSIG``);
- SIGTERM or SIGUSR1 saves a checkpoint at the next iteration and stops
  (:class:`SaveOnSignalHook`); DataLoader workers leave both signals to the trainer, so a
  signal to the whole process group (Slurm, systemd, ``kill -TERM -<pgid>``) saves too;
- CPU denormals are flushed to zero (``env_cfg.flush_denormal``, see :meth:`setup_env`).
"""
import copy
import ctypes
import errno
import fcntl
import functools
import glob
import os
import os.path as osp
import shutil
import signal
import socket
import threading
import time
from collections import deque
from typing import List, Optional

import torch
from mmengine.dist import broadcast_object_list, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import HOOKS, RUNNERS

from ..models.checked_encoder_decoder import CheckpointMisfit
from .config_check_hook import check_checkpoint_fits, check_hook_arguments
from .integrity import add_record, checkpoints_newest_first, newest_valid_checkpoint, sha256_of

SAFETY_HOOKS = ('ConfigCheckHook', 'StopOnInvalidLossHook', 'SyncBuffersFromRank0Hook',
                'SaveOnSignalHook')


def _split_files(dataset_cfg) -> List[str]:
    """The ``ann_file`` paths of a dataset config (and of its ``datasets``)."""
    if not isinstance(dataset_cfg, dict):
        return []
    files = [f for d in dataset_cfg.get('datasets', []) for f in _split_files(d)]
    ann = dataset_cfg.get('ann_file')
    if ann:
        files.append(osp.join(dataset_cfg.get('data_root') or '', ann))
    return files


def die_with_parent() -> None:
    """A torchrun worker is killed when its launcher dies (even by kill -9). SIGKILL, not
    SIGTERM: SIGTERM asks for a save at the next iteration (SaveOnSignalHook), which would
    wait on ranks that may be gone."""
    try:
        libc = ctypes.CDLL('libc.so.6', use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: nothing to do
        pass


def _try_lock(f) -> Optional[str]:
    """Take the exclusive lock of the open lock file ``f``: None, or the holder's text when
    another process holds it."""
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        f.seek(0)
        return f.read().strip() or 'another process'


def leave_signals_to_the_trainer(worker_id: int, init_fn=None) -> None:
    """A DataLoader worker's start: SIGTERM and SIGUSR1 go to :func:`_worker_signals`, then
    ``init_fn`` runs.

    A scheduler signals every process of the job (Slurm, systemd, ``kill -TERM -<pgid>``);
    a worker killed by it would end the trainer with "DataLoader worker (pid N) is killed by
    signal" before the trainer can save. The trainer ends its workers itself (a sentinel
    through their queue, or SIGTERM), and a worker whose trainer is gone exits by itself
    (PyTorch's watchdog)."""
    signals = {signal.SIGTERM, signal.SIGUSR1}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)  # inherited by later threads
    threading.Thread(target=_worker_signals, args=(os.getppid(), signals), daemon=True,
                     name='leave_signals_to_the_trainer').start()
    if init_fn is not None:
        init_fn(worker_id)


def _worker_signals(trainer: int, signals: set) -> None:
    """In a worker: take each SIGTERM / SIGUSR1 with its sender; on the trainer's SIGTERM
    (its shutdown of the workers) exit at once, with status 0 (the trainer asked: no
    "worker exited unexpectedly" error), ignore every other."""
    while True:
        info = signal.sigwaitinfo(signals)
        if info.si_signo == signal.SIGTERM and info.si_pid == trainer:
            os._exit(0)


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook``, removing old checkpoints (and their ``.sha256``) only
    after the new one is complete: with ``max_keep_ckpts=1`` a kill while saving keeps the
    previous checkpoint."""

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """The integrity record goes into the checkpoint (this hook runs after the others,
        e.g. EMAHook's swap, so it covers the checkpoint as written)."""
        checkpoint['meta'].update(  # for the resume check of images per step
            world_size=get_world_size(),
            batch_per_process=getattr(runner.train_dataloader, 'batch_size', None))
        add_record(checkpoint, f'{runner.work_dir} ({runner.timestamp})')  # the last change

    def _save_checkpoint_with_step(self, runner, step, meta):
        keep, self.max_keep_ckpts = self.max_keep_ckpts, -1  # mmengine removes before saving
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.max_keep_ckpts = keep
        if keep <= 0:
            return
        # mmengine keeps the ids in a deque(maxlen=keep), which drops the oldest id on append
        # without removing its file: count in a list, then remove what falls out
        ids = [i for i in self.keep_ckpt_ids if i != step] + [step]
        for old in ids[:-keep]:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            for p in (path, path + '.sha256'):
                if is_main_process() and osp.isfile(p):
                    os.remove(p)
        self.keep_ckpt_ids = deque(ids[-keep:], maxlen=keep)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))


@RUNNERS.register_module()
class DifNetRunner(Runner):
    """mmengine's ``Runner`` with the guarantees listed in this module's docstring."""

    @classmethod
    def from_cfg(cls, cfg) -> 'DifNetRunner':
        cfg = copy.deepcopy(cfg)
        check_hook_arguments(cfg)
        hooks = list(cfg.get('custom_hooks') or [])
        present = {h.get('type') for h in hooks if isinstance(h, dict)}
        hooks += [dict(type=t) for t in SAFETY_HOOKS if t not in present]
        cfg.custom_hooks = hooks
        ckpt = (cfg.get('default_hooks') or {}).get('checkpoint')
        if ckpt and ckpt.get('type') in ('CheckpointHook', CheckpointHook):
            ckpt['type'] = 'SafeCheckpointHook'
        return super().from_cfg(cfg)

    def __init__(self, *args, **kwargs):
        if 'TORCHELASTIC_RUN_ID' in os.environ:
            die_with_parent()
        super().__init__(*args, **kwargs)
        self._lock_file = None

    @staticmethod
    def build_dataloader(dataloader, *args, **kwargs):
        """mmengine's, with workers that leave SIGTERM and SIGUSR1 to the trainer
        (:func:`leave_signals_to_the_trainer`) and an empty split named."""
        try:
            loader = Runner.build_dataloader(dataloader, *args, **kwargs)
            if getattr(loader, 'num_workers', 0) > 0:
                loader.worker_init_fn = functools.partial(leave_signals_to_the_trainer,
                                                          init_fn=loader.worker_init_fn)
            return loader
        except ValueError as e:
            if 'need at least one array' not in str(e) or not isinstance(dataloader, dict):
                raise
            empty = [f for f in _split_files(dataloader.get('dataset'))
                     if osp.isfile(f) and not open(f).read().strip()]
            raise ValueError(
                f'a dataset is empty: the split file(s) {empty or "of the dataloader"} list no '
                'images. Fill the split file (one image name per line, without extension), or '
                'point ann_file at the right one.') from e

    def setup_env(self, env_cfg) -> None:
        """mmengine's process set-up, plus ``env_cfg.flush_denormal`` (default True): CPU
        floats below 1e-38 become 0. The walks' softmax over unscaled Ψ Ψᵀ produces many
        such values, and x86 CPUs compute with them up to ~100× slower: measured, one
        DifNet-R18 training step on 4 images of 128×128 took 1.2 s without, 0.5 s with.
        No effect on CUDA kernels."""
        super().setup_env(env_cfg)
        if env_cfg.get('flush_denormal', True):
            torch.set_flush_denormal(True)
        self._timestamp = self._claim_log_dir(self._timestamp)

    def _claim_log_dir(self, timestamp: str) -> str:
        """A log dir (``<work_dir>/<timestamp>``) no other run uses: mmengine names it by the
        second, so two runs started in one second (two ``tools/test.py`` on one work dir) wrote
        one log and one result JSON. The main process creates it atomically (``_2``, ``_3`` …
        when taken) and tells the other ranks."""
        name, n = timestamp, 1
        while is_main_process():  # mmengine made the work dir before setup_env
            try:
                os.mkdir(osp.join(self.work_dir, name))
                break
            except FileExistsError:
                n += 1
                name = f'{timestamp}_{n}'
        names = [name]
        broadcast_object_list(names)
        return names[0]

    # ---- one run per work dir -------------------------------------------------------------
    def _lock_path(self) -> str:
        return osp.join(self.work_dir, '.train.lock')

    def _work_dir_holder(self) -> Optional[str]:
        """Who trains in the work dir now (the lock's text), or None when no one does."""
        path = self._lock_path()
        if not osp.isfile(path):
            return None
        with open(path, 'a+') as f:  # closing it releases a lock taken here
            return _try_lock(f)

    def dump_config(self) -> None:
        """mmengine's copy of the config into the work dir, unless a training runs there:
        its copy is the record of that run (this run's copy goes to its log dir only)."""
        holder = self._work_dir_holder() if is_main_process() else None
        name = osp.basename(self.cfg.filename) if self.cfg.filename else f'{self.timestamp}.py'
        if holder is None and self._resume and osp.isfile(osp.join(self.work_dir, name)):
            # a resume may yet be refused (another model, schedule, batch): the work dir's
            # copy is replaced only once it succeeded (resume()); till then the log dir's
            self._config_copy_deferred = True
            os.makedirs(self.log_dir, exist_ok=True)
            self.cfg.dump(osp.join(self.log_dir, name))
            return None
        if holder is None:
            return super().dump_config()
        self.logger.warning(
            f'the work dir {self.work_dir!r} is in use by a running training ({holder}): its '
            f'config copy is kept; this run\'s config is in {self.log_dir!r} only.')
        self.cfg.dump(osp.join(self.log_dir, osp.basename(self.cfg.filename or 'config.py')))

    def _lock_work_dir(self) -> None:
        if not is_main_process():
            return
        path = self._lock_path()
        f = open(path, 'a+')
        holder = _try_lock(f)
        if holder is not None:
            f.close()
            raise RuntimeError(
                f'the work dir {self.work_dir!r} is in use by a running training ({holder}; '
                f'lock {path}). Two runs in one work dir would mix their checkpoints and '
                'logs: wait for it to end or stop it, or give this run another --work-dir.')
        f.seek(0)
        f.truncate()
        f.write(f'pid {os.getpid()} on {socket.gethostname()}, started '
                f'{time.strftime("%Y-%m-%d %H:%M:%S")}\n')
        f.flush()
        self._lock_file = f  # held (and the lock with it) until train() returns or we die
        self._remove_partial_saves()

    def _remove_partial_saves(self) -> None:
        """Remove what a save killed midway (``kill -9``, power loss) left: the hidden
        ``.<name>.pth.tmp<pid>`` files and their ``.sha256``. Called with the work dir's lock
        held, so no other save is running."""
        for path in glob.glob(osp.join(self.work_dir, '.*.tmp[0-9]*')):
            if not osp.isfile(path):
                continue
            size = osp.getsize(path)
            os.remove(path)
            self.logger.info(f'removed {path} ({size / 2**20:.1f} MB), left by a save that '
                             'was killed before it completed.')

    def train(self):
        self._lock_work_dir()
        if not self._resume and is_main_process():
            found = checkpoints_newest_first(self.work_dir)
            if found:  # a new run would mix its checkpoints with these, and --resume later
                self.logger.warning(  # would not know which run to continue
                    f'the work dir {self.work_dir!r} holds checkpoints of another run '
                    f'({", ".join(osp.basename(p) for p in found[:3])}'
                    f'{", ..." if len(found) > 3 else ""}): this new run writes beside them '
                    'and last_checkpoint will name its own. To continue that run instead, '
                    'stop this one and add --resume; to keep the runs apart, give this one '
                    'another --work-dir.')
        try:
            return super().train()
        finally:  # ended, normally or not: the work dir is free again
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None

    # ---- checkpoints ------------------------------------------------------------------------
    def _checkpoint_bytes(self) -> int:
        """About what a checkpoint takes: the weights and buffers, and the optimizer's
        state (SGD momentum: one more copy of the parameters)."""
        model = self.model.module if is_model_wrapper(self.model) else self.model
        weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
        params = sum(p.numel() * p.element_size() for p in model.parameters())
        return weights + params

    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs):
        """mmengine's save, into a temporary file renamed when complete, with its SHA-256
        beside it. Space is checked first; a save that fails removes its partial file and
        keeps the previous checkpoint and ``last_checkpoint``, naming the sizes when space ran
        out and saying it did not otherwise (a permission, a read-only file system)."""
        tmp = f'.{filename}.tmp{os.getpid()}'
        tmp_path, path = osp.join(out_dir, tmp), osp.join(out_dir, filename)
        need = self._checkpoint_bytes()
        os.makedirs(out_dir, exist_ok=True)
        free = shutil.disk_usage(out_dir).free

        def failed(why, space=True):
            cause = (f'it needs about {need / 2**20:.0f} MB and {free / 2**20:.0f} MB are free in '
                     f'{out_dir!r}' if space else f'not a lack of space ({free / 2**20:.0f} MB '
                     f'are free in {out_dir!r})')
            fix = ('Free space' if space else 'Fix what the error names (permissions, a '
                   'read-only or immutable file system, a file in the way)')
            return (f'saving checkpoint {path!r} failed ({why}): {cause}. The previous '
                    f'checkpoint and last_checkpoint are kept. {fix} (or give another '
                    '--work-dir) and continue with --resume.')
        if is_main_process() and free < need:
            raise OSError(errno.ENOSPC, failed('not enough space, checked before writing'))
        try:
            super().save_checkpoint(out_dir, tmp, *args, **kwargs)
            if not is_main_process():
                return
            with open(tmp_path + '.sha256', 'w') as f:
                f.write(f'{sha256_of(tmp_path)}  {filename}\n')
            os.replace(tmp_path + '.sha256', path + '.sha256')
            os.replace(tmp_path, path)  # atomic: a reader sees the old file or the whole new one
        except OSError as e:
            for p in (tmp_path, tmp_path + '.sha256'):
                if osp.isfile(p):
                    os.remove(p)
            space = e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
            raise OSError(e.errno, failed(f'{type(e).__name__}: {e}', space)) from e

    def load_or_resume(self) -> None:
        if self._has_loaded or not (self._resume and self._load_from is None):
            return super().load_or_resume()
        path = newest_valid_checkpoint(self.work_dir, self.logger.warning)
        if path is None:
            self.logger.info(f'resume: no valid checkpoint in {self.work_dir}; training '
                             'starts from the beginning.')
            self._dump_deferred_config()
            return super().load_or_resume()
        last = osp.join(self.work_dir, 'last_checkpoint')
        named = open(last).read().strip() if osp.isfile(last) else ''
        if named and osp.abspath(osp.join(self.work_dir, named)) == osp.abspath(path):
            self.logger.info(f'resume: continuing from {path}, which {last} names.')
        else:
            self.logger.info(f'resume: the newest valid checkpoint is {path}.')
        self._load_from = path
        return super().load_or_resume()

    def resume(self, filename: str, *args, **kwargs) -> None:
        model = self.model.module if is_model_wrapper(self.model) else self.model
        check_checkpoint_fits(filename, model, resume=True)  # before the optimizer state
        planned = [self._planned_end(s) for s in self._flat_schedulers()]
        optimizer = getattr(self.optim_wrapper, 'optimizer', None)
        config_lrs = ([g.get('initial_lr', g['lr']) for g in optimizer.param_groups]
                      if optimizer is not None else None)
        super().resume(filename, *args, **kwargs)
        self._check_images_per_step(filename)
        for i, (scheduler, end) in enumerate(zip(self._flat_schedulers(), planned)):
            if end is not None and getattr(scheduler, 'end', end) != end:
                raise RuntimeError(
                    f'param_scheduler[{i}] ({type(scheduler).__name__}) ends at {end} in the '
                    f'config but at {scheduler.end} in {filename!r}: resuming would keep the '
                    'old schedule (the learning rate would stay at its final value, 0 for '
                    'PolyLR, after it). Resume with the original train_cfg.max_iters and '
                    'param_scheduler, or start a new run from this checkpoint with the new '
                    'schedule: --cfg-options load_from=<checkpoint> without --resume.')
        if config_lrs is not None:
            self._apply_config_lr(optimizer, config_lrs, filename)
        self._dump_deferred_config()  # the resume is accepted: the work dir's copy is this

    def _dump_deferred_config(self) -> None:
        if getattr(self, '_config_copy_deferred', False):
            self._config_copy_deferred = False
            super().dump_config()

    def _apply_config_lr(self, optimizer, config_lrs: List[float], filename: str) -> None:
        """A resume with another learning rate in the config (e.g. lowered after a NaN stop)
        takes it: mmengine would restore the checkpoint's. Each group's base lr, its current
        lr and the schedulers' base values are scaled by config / checkpoint, so the schedule
        goes on from the resumed iteration at the new scale; both values are logged."""
        groups = optimizer.param_groups
        ckpt_lrs = [g.get('initial_lr', g['lr']) for g in groups]
        ratios = [c / k if k else 1.0 for c, k in zip(config_lrs, ckpt_lrs)]
        if len(ckpt_lrs) != len(config_lrs) or all(abs(r - 1) < 1e-9 for r in ratios):
            return
        before = groups[0]['lr']
        for g, r in zip(groups, ratios):
            g['lr'] *= r
            if 'initial_lr' in g:
                g['initial_lr'] *= r
        for scheduler in self._flat_schedulers():
            if getattr(scheduler, 'param_name', None) == 'lr' and hasattr(scheduler,
                                                                         'base_values'):
                scheduler.base_values = [v * r for v, r in zip(scheduler.base_values, ratios)]
                if hasattr(scheduler, '_last_value'):
                    scheduler._last_value = [g['lr'] for g in groups]
        self.logger.warning(
            f'resume: the config\'s learning rate {config_lrs[0]:g} replaces the base '
            f'learning rate {ckpt_lrs[0]:g} of {filename!r}: the schedule goes on from '
            f'iteration {self.iter} at lr {groups[0]["lr"]:g} (it would have been '
            f'{before:g}). Resume with the original optim_wrapper.optimizer.lr to keep it.')

    def load_checkpoint(self, filename: str, *args, **kwargs):
        try:
            checkpoint = super().load_checkpoint(filename, *args, **kwargs)
        except CheckpointMisfit as e:  # the model's own check: name the file
            raise CheckpointMisfit(f'checkpoint {filename!r}', e.detail) from None
        self._loaded_meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
        return checkpoint

    def _check_images_per_step(self, filename: str) -> None:
        """Warn when a resumed run takes another number of images per step than the run it
        continues (another number of processes or batch size): the schedule and lr were
        planned for the old one."""
        meta = getattr(self, '_loaded_meta', {}) or {}
        if 'world_size' not in meta:
            return
        old = (meta['world_size'], meta.get('batch_per_process'))
        new = (get_world_size(), self.train_dataloader.batch_size)
        if old != new:
            self.logger.warning(
                f'resume: {filename!r} was trained with {old[0]} process(es) × {old[1]} images '
                f'= {old[0] * (old[1] or 0)} images per step, this run takes {new[0]} × '
                f'{new[1]} = {new[0] * new[1]}: the learning rate and schedule are unchanged, '
                'so training differs from the run it continues. Resume with as many processes '
                '(tools/train.sh CONFIG N) and the same train_dataloader.batch_size to continue '
                'it exactly.')

    def _flat_schedulers(self) -> list:
        """The parameter schedulers (built, or still configs) as one list."""
        schedulers = self.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        return list(schedulers)

    @staticmethod
    def _planned_end(scheduler) -> Optional[int]:
        """The iteration a scheduler ends at, or None where that is not known yet (a config
        counted in epochs)."""
        if isinstance(scheduler, dict):
            return None if scheduler.get('by_epoch', True) else scheduler.get('end')
        return getattr(scheduler, 'end', None)
