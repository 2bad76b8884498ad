# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ..utils.unwrap import unwrap_model
from .run_checks import (
    check_classes,
    check_not_empty,
    check_schedule_covers_the_run,
    check_scored_images,
    check_split_files,
)


@HOOKS.register_module()
class ConfigCheckHook(Hook):
    """Before training or testing, turn silent mistakes into errors that name the fix
    (:mod:`.run_checks`):

    - a dataset without images, or a split file that names files that do not exist (the
      training's and the validation's, before training);
    - a head whose ``num_classes`` differs from the dataset's number of classes;
    - (the checkpoint of another architecture is refused by the model itself, on every load
      path: :class:`CheckedEncoderDecoder`; ``check_checkpoint=False`` switches that off);
    - a learning-rate schedule that ends, decayed, before ``train_cfg.max_iters``
      (:func:`check_schedule_covers_the_run`, after a resume too);
    - before every training iteration, the batch as the dataloader gives it, on the CPU:
      labels outside [0, num_classes) other than the ignore index, a NaN/Inf input (the
      model's ``check_batch``, where it has one: :class:`CheckedEncoderDecoder`).
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_checkpoint: bool = True) -> None:
        self.check_checkpoint = check_checkpoint

    def before_run(self, runner):
        """``check_checkpoint=False`` (the older spelling of ``model.check_checkpoint=False``)
        switches off the model's own check, before anything is loaded."""
        if not self.check_checkpoint:
            unwrap_model(runner.model).check_checkpoint = False

    def before_train(self, runner):
        check_not_empty(runner, 'train_dataloader')
        for loader in ('train_dataloader', 'val_dataloader'):
            check_split_files(runner, loader, runner.logger.warning)
        check_scored_images(runner, 'val_dataloader')
        check_classes(runner, 'train_dataloader')
        check_schedule_covers_the_run(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = unwrap_model(runner.model)
        if isinstance(data_batch, dict) and hasattr(model, 'check_batch'):
            model.check_batch(data_batch, 'training')

    def before_val(self, runner):
        check_not_empty(runner, 'val_dataloader')

    def before_test(self, runner):
        check_not_empty(runner, 'test_dataloader')
        check_split_files(runner, 'test_dataloader', runner.logger.warning)
        check_scored_images(runner, 'test_dataloader')
        check_classes(runner, 'test_dataloader')
