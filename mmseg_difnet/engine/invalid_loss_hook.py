# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
import math
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class StopOnInvalidLossHook(Hook):
    """Stop training when the loss or, after the update, a weight becomes NaN or Inf, before
    a checkpoint can save the poisoned weights; the last checkpoint written stays the last
    good one. Its priority runs it before ``CheckpointHook`` in ``after_train_iter``.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        loss = (outputs or {}).get('loss')
        bad = None
        if loss is not None and not math.isfinite(float(loss)):
            bad = f'the training loss is {float(loss)}'
        else:
            params = [p.detach() for p in runner.model.parameters()]
            if params and not torch.stack(torch._foreach_norm(params)).isfinite().all():
                bad = 'a weight became NaN or Inf after the update (the loss was finite)'
        if bad is None:
            return
        last = osp.join(runner.work_dir, 'last_checkpoint')
        good = open(last).read().strip() if osp.isfile(last) else None
        raise RuntimeError(
            f'{bad} at iteration {runner.iter + 1}: training '
            f'stopped. Last good checkpoint: {good or "none saved yet"}. Lower the learning '
            'rate (optim_wrapper.optimizer.lr), add gradient clipping '
            '(optim_wrapper.clip_grad=dict(max_norm=...)), or check the data, then resume '
            'with --resume.')
