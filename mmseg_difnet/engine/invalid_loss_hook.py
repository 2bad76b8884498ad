# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
import math
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class StopOnInvalidLossHook(Hook):
    """Stop training when the loss becomes NaN or Inf, or when a checkpoint about to be saved
    holds NaN or Inf weights (a finite loss can still be followed by a diverging update), so
    the last checkpoint written stays the last good one.
    """

    priority = 'VERY_HIGH'

    def _stop(self, runner, what):
        last = osp.join(runner.work_dir, 'last_checkpoint')
        good = open(last).read().strip() if osp.isfile(last) else None
        raise RuntimeError(
            f'{what} at iteration {runner.iter + 1}: training stopped. Last good checkpoint: '
            f'{good or "none saved yet"}. Lower the learning rate '
            '(optim_wrapper.optimizer.lr), add gradient clipping '
            '(optim_wrapper.clip_grad=dict(max_norm=...)), or check the data, then resume '
            'with --resume: e.g. tools/train.py CONFIG --work-dir WORK_DIR --resume '
            '--cfg-options optim_wrapper.optimizer.lr=<lower> (a resume takes the config\'s '
            'learning rate and logs both values).')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        loss = (outputs or {}).get('loss')
        if loss is not None:
            value = float(loss.detach() if torch.is_tensor(loss) else loss)
            if not math.isfinite(value):
                self._stop(runner, f'the training loss is {value}')

    def before_save_checkpoint(self, runner, checkpoint):
        weights = [v for v in checkpoint.get('state_dict', {}).values()
                   if torch.is_tensor(v) and v.is_floating_point()]
        if weights and not torch.stack(torch._foreach_norm(weights)).isfinite().all():
            self._stop(runner, 'a weight became NaN or Inf after the update (the loss was '
                       'finite)')
