# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Preemption: SIGTERM or SIGUSR1 saves a checkpoint at the next iteration boundary."""
import os.path as osp
import signal
import threading
from typing import Dict, Optional

import torch
from mmengine.dist import all_reduce, is_distributed
from mmengine.hooks import CheckpointHook, Hook
from mmseg.registry import HOOKS

SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


@HOOKS.register_module()
class SaveOnSignalHook(Hook):
    """On SIGTERM (what a cluster scheduler sends before it takes the node) or SIGUSR1 (Slurm's
    ``--signal``), finish the iteration in flight, save a checkpoint on every rank together
    (the flag is all-reduced, so one signalled rank is enough), and stop training; the resumed
    run (``--resume``) loses at most that iteration. ``runner.stopped_by_signal`` then holds
    the signal's number (tools/train.py exits with 128 + it). Without a checkpoint hook it
    only stops."""

    priority = 'LOWEST'  # after the checkpoint hook's own save of this iteration

    def __init__(self) -> None:
        self._signal: Optional[int] = None
        self._previous: Dict[int, object] = {}

    def _on_signal(self, signum, frame) -> None:
        self._signal = signum

    def before_train(self, runner) -> None:
        runner.stopped_by_signal = None
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._on_signal) for s in SIGNALS}

    def after_train(self, runner) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        flag = torch.tensor([self._signal or 0])
        if is_distributed():
            all_reduce(flag, op='max')
        signum = int(flag.item())
        if not signum:
            return
        name = signal.Signals(signum).name
        ckpt = next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        step = runner.iter + 1
        if ckpt is not None and not osp.isfile(
                osp.join(ckpt.out_dir, ckpt.filename_tmpl.format(step))):  # not saved yet
            # every rank: the save is collective. Private: CheckpointHook has no public
            # "save now", and runner.save_checkpoint would bypass the hook's out_dir, file
            # name template, max_keep_ckpts and last_checkpoint file
            ckpt._save_checkpoint(runner)
        runner.logger.warning(
            f'{name}: stopped after iteration {step}'
            + (f', checkpoint iter_{step}.pth saved in {runner.work_dir}; continue with '
               '--resume.' if ckpt is not None else ' (no checkpoint hook: nothing saved).'))
        runner.stopped_by_signal = signum
        runner.train_loop.stop_training = True
