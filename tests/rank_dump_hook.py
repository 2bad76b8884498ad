"""A hook for the distributed tests: each rank saves its parameters and buffers before and
after training and as validation sees them (imported into the training processes through
custom_imports)."""
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class RankDumpHook(Hook):

    def _dump(self, runner, tag):
        model = getattr(runner.model, 'module', runner.model)
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        torch.save(state, osp.join(runner.work_dir, f'rank{get_rank()}_{tag}.pth'))

    def before_train(self, runner):
        self._dump(runner, 'init')

    def after_train(self, runner):
        self._dump(runner, 'final')

    def after_val_epoch(self, runner, metrics=None):
        self._dump(runner, 'val')
