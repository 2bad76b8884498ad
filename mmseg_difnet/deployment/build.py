# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The model an export starts from, as the deployment tools build it."""
from mmengine.config import Config
from mmseg.apis import init_model

from ..checkpoint import load_fitting_checkpoint
from ..utils import for_one_process


def build_for_export(config: str, checkpoint: str, cfg_options=None):
    """``(cfg, model)``: the config file's model on the CPU in eval mode (BN for one process),
    with the checkpoint's weights (checked to fit), or its initial weights for 'none'."""
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = init_model(for_one_process(cfg), device='cpu')
    if checkpoint != 'none':
        load_fitting_checkpoint(model, checkpoint)
    return cfg, model.eval()
