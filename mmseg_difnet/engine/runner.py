# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""A Runner that never loses or mixes a run (docs/troubleshooting.md).

The project's runtime base sets ``runner_type = 'DifNetRunner'``; mmseg's train script
(``mim train``) and this package's tools build it. mmseg's test script (``mim test``) builds
mmengine's plain ``Runner``: there the model itself refuses a checkpoint that does not fit
(:class:`CheckedEncoderDecoder`) and the loader verifies its integrity, whatever the config's
``custom_hooks``; the configs' ``custom_hooks`` give the other checks, but CPU denormals are
not flushed. The Runner adds:

- the safety hooks are merged into any user ``custom_hooks`` (never replaced);
- every checkpoint it loads (``load_from``, resume, pretrained weights, by path or URL) is
  read weights-only and verified (:func:`mmseg_difnet.checkpoint.checked_loading`);
- checkpoints are written to a temporary file and renamed, with an integrity record of
  everything resume reads (weights, optimizer state, schedule) inside and a SHA-256 beside
  them (``iter_N.pth.sha256``), both verified by every load (:mod:`mmseg_difnet.checkpoint`);
  old ones are removed only after the new one is complete (:class:`SafeCheckpointHook`);
  what a killed save left is removed when the next training takes the work dir;
- ``resume`` without ``load_from`` takes the newest *valid* checkpoint of the work dir,
  skipping (and naming) corrupt ones; a schedule whose end changed since the checkpoint
  stops with a message instead of training at learning rate 0;
- one training per work dir (:class:`.work_dir_lock.WorkDirLock`); a run refused there
  leaves the running one's config copy as it is;
- workers started by torchrun die with their launcher, and SIGTERM or SIGUSR1 saves a
  checkpoint at the next iteration and stops (:class:`SaveOnSignalHook`); DataLoader workers
  leave both signals to the trainer (:mod:`.worker_signals`), so a signal to the whole
  process group (Slurm, systemd, ``kill -TERM -<pgid>``) saves too;
- CPU denormals are flushed to zero (``env_cfg.flush_denormal``, see :meth:`setup_env`).
"""
import copy
import functools
import os
import os.path as osp
from typing import List, Optional

import torch
from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner
from mmseg.registry import RUNNERS

from ..checkpoint import (
    CheckpointMisfit,
    check_checkpoint_fits,
    checked_loading,
    checkpoint_bytes,
    checkpoints_newest_first,
    newest_valid_checkpoint,
    remove_partial_saves,
    save_atomically,
)
from ..utils.unwrap import unwrap_model
from .run_checks import (
    check_hook_arguments,
    check_resumed_schedule,
    empty_split_error,
    flat_schedulers,
    images_per_step_warning,
    planned_end,
    split_files,
)
from .work_dir_lock import WorkDirLock
from .worker_signals import die_with_parent, leave_signals_to_the_trainer

SAFETY_HOOKS = ('ConfigCheckHook', 'StopOnInvalidLossHook', 'SyncBuffersFromRank0Hook',
                'SaveOnSignalHook')


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
        if cfg.get('default_hooks') is None:
            cfg.default_hooks = {}
        cfg.default_hooks.setdefault('checked_loading', dict(type='CheckedLoadingHook'))
        ckpt = cfg.default_hooks.get('checkpoint')
        if ckpt and ckpt.get('type') in ('CheckpointHook', CheckpointHook):
            ckpt['type'] = 'SafeCheckpointHook'
        return super().from_cfg(cfg)

    def __init__(self, *args, **kwargs):
        if 'TORCHELASTIC_RUN_ID' in os.environ:
            die_with_parent()
        super().__init__(*args, **kwargs)  # it calls dump_config
        self._work_dir_lock: Optional[WorkDirLock] = None  # held while train() runs

    @staticmethod
    def build_dataloader(dataloader, *args, **kwargs):
        """mmengine's, with workers that leave SIGTERM and SIGUSR1 to the trainer
        (:func:`leave_signals_to_the_trainer`) and an empty split named (mmengine fails on it
        while building, before any hook)."""
        try:
            loader = Runner.build_dataloader(dataloader, *args, **kwargs)
            if getattr(loader, 'num_workers', 0) > 0:
                loader.worker_init_fn = functools.partial(leave_signals_to_the_trainer,
                                                          init_fn=loader.worker_init_fn)
            return loader
        except ValueError as e:
            if 'need at least one array' not in str(e) or not isinstance(dataloader, dict):
                raise
            empty = [f for f in split_files(dataloader.get('dataset'))
                     if osp.isfile(f) and not open(f).read().strip()]
            raise empty_split_error('a dataset', empty or 'of the dataloader') from e

    def setup_env(self, env_cfg) -> None:
        """mmengine's process set-up, plus ``env_cfg.flush_denormal`` (default True): CPU
        floats below 1e-38 become 0. The walks' softmax over unscaled Ψ Ψᵀ produces many
        such values, and x86 CPUs compute with them many times slower
        (docs/fast_diffusion.md). No effect on CUDA kernels."""
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
    def dump_config(self) -> None:
        """mmengine's copy of the config into the work dir, unless a training runs there:
        its copy is the record of that run (this run's copy goes to its log dir only)."""
        holder = WorkDirLock(self.work_dir).holder() if is_main_process() else None
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

    def train(self):
        if is_main_process():
            self._work_dir_lock = WorkDirLock(self.work_dir)
            self._work_dir_lock.acquire()
            remove_partial_saves(self.work_dir, self.logger.info)  # no other save runs now
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
            with checked_loading():
                return super().train()
        finally:  # ended, normally or not: the work dir is free again
            if self._work_dir_lock is not None:
                self._work_dir_lock.release()
                self._work_dir_lock = None

    def val(self):
        with checked_loading():
            return super().val()

    def test(self):
        with checked_loading():
            return super().test()

    # ---- checkpoints ------------------------------------------------------------------------
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs):
        """mmengine's save, made atomic (:func:`save_atomically`)."""
        save_atomically(lambda d, name: super(DifNetRunner, self).save_checkpoint(
            d, name, *args, **kwargs), out_dir, filename, checkpoint_bytes(
                unwrap_model(self.model)))

    def load_or_resume(self) -> None:
        if self._has_loaded or not (self._resume and self._load_from is None):
            return super().load_or_resume()
        path = newest_valid_checkpoint(self.work_dir, self.logger.warning)
        if path is None:
            self.logger.info(f'resume: no valid checkpoint in {self.work_dir}; training '
                             'starts from the beginning.')
            self._dump_deferred_config()
            # and does so: mmengine's own resume would take the checkpoint that
            # last_checkpoint names, found unusable above
            self._has_loaded = True
            return None
        last = osp.join(self.work_dir, 'last_checkpoint')
        named = open(last).read().strip() if osp.isfile(last) else ''
        if named and osp.abspath(osp.join(self.work_dir, named)) == osp.abspath(path):
            self.logger.info(f'resume: continuing from {path}, which {last} names.')
        else:
            self.logger.info(f'resume: the newest valid checkpoint is {path}.')
        self._load_from = path
        return super().load_or_resume()

    def resume(self, filename: str, *args, **kwargs) -> None:
        # the model's fit is checked before mmengine restores the optimizer state
        check_checkpoint_fits(filename, unwrap_model(self.model), resume=True)
        planned = [planned_end(s) for s in flat_schedulers(self.param_schedulers)]
        optimizer = getattr(self.optim_wrapper, 'optimizer', None)
        config_lrs = ([g.get('initial_lr', g['lr']) for g in optimizer.param_groups]
                      if optimizer is not None else None)
        with checked_loading():
            super().resume(filename, *args, **kwargs)
        warning = images_per_step_warning(getattr(self, '_loaded_meta', {}),
                                          self.train_dataloader.batch_size, filename)
        if warning:
            self.logger.warning(warning)
        check_resumed_schedule(planned, flat_schedulers(self.param_schedulers), filename)
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
        for scheduler in flat_schedulers(self.param_schedulers):
            if getattr(scheduler, 'param_name', None) == 'lr' and hasattr(scheduler,
                                                                         'base_values'):
                scheduler.base_values = [v * r for v, r in zip(scheduler.base_values, ratios)]
                if hasattr(scheduler, '_last_value'):  # private: the chainable form's last
                    # value, which mmengine's schedulers expose no setter for
                    scheduler._last_value = [g['lr'] for g in groups]
        self.logger.warning(
            f'resume: the config\'s learning rate {config_lrs[0]:g} replaces the base '
            f'learning rate {ckpt_lrs[0]:g} of {filename!r}: the schedule goes on from '
            f'iteration {self.iter} at lr {groups[0]["lr"]:g} (it would have been '
            f'{before:g}). Resume with the original optim_wrapper.optimizer.lr to keep it.')

    def load_checkpoint(self, filename: str, *args, **kwargs):
        try:
            with checked_loading():  # also when called outside train/val/test
                checkpoint = super().load_checkpoint(filename, *args, **kwargs)
        except CheckpointMisfit as e:  # the model's own check: name the file
            raise CheckpointMisfit(f'checkpoint {filename!r}', e.detail) from None
        self._loaded_meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
        return checkpoint
