# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
from mmengine.dist import broadcast, get_world_size
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ..utils.unwrap import unwrap_model


@HOOKS.register_module()
class SyncBuffersFromRank0Hook(Hook):
    """Before validation and testing, every rank takes rank 0's buffers (BatchNorm running
    statistics): those that the checkpoint holds, so the metric describes the saved model.

    With per-process BN (SyncBN run as BN without CUDA, or ``norm_cfg=dict(type='BN')``)
    each rank updates its own statistics from its own images, so without this each rank
    would validate a slightly different model and the logged mIoU would match no file.
    mmengine's ``SyncBuffersHook`` does not serve: it averages the ranks' buffers, a model
    that no checkpoint holds (rank 0 saves its own), and does nothing before testing.
    """

    priority = 'VERY_HIGH'

    def _sync(self, runner) -> None:
        if get_world_size() < 2:
            return
        for buf in unwrap_model(runner.model).buffers():
            broadcast(buf, src=0)

    def before_val_epoch(self, runner) -> None:
        self._sync(runner)

    def before_test_epoch(self, runner) -> None:
        self._sync(runner)
