# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
import os
import os.path as osp
from collections import deque

from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import CheckpointHook
from mmseg.registry import HOOKS

from .integrity import add_record


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook``, writing the integrity record into every checkpoint and
    removing old checkpoints (and their ``.sha256``) only after the new one is complete: with
    ``max_keep_ckpts=1`` a kill while saving keeps the previous checkpoint. ``DifNetRunner``
    puts it in place of the config's ``CheckpointHook``."""

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
