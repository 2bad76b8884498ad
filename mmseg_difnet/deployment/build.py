# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The model inference and export start from, as the deployment tools build it, and the
deploy step that puts each walk in its inference form."""
import torch.nn as nn
from mmengine.config import Config
from mmseg.apis import init_model

from ..checkpoint import load_fitting_checkpoint
from ..models.fused_embedding import DEFAULT_BAND_FLOATS
from ..models.random_walk import RandomWalk
from ..utils import for_one_process


def switch_to_deploy(model: nn.Module, band_floats: int = DEFAULT_BAND_FLOATS) -> int:
    """Every walk of ``model`` in its inference form (:meth:`RandomWalk.switch_to_deploy`:
    Ψ's BN folded into its conv, channels-last, the image level in bands of rows on a CPU),
    in place, as mmcv's ``fuse_conv_bn``; the same outputs to float rounding. For inference
    and export only: the folded BN no longer learns. Returns the number of walks fused."""
    return sum(m.switch_to_deploy(band_floats) for m in model.modules()
               if isinstance(m, RandomWalk))


def build_for_export(config: str, checkpoint: str, cfg_options=None, deploy: bool = True):
    """``(cfg, model)``: the config file's model on the CPU in eval mode (BN for one process),
    with the checkpoint's weights (checked to fit), or its initial weights for 'none';
    ``deploy``: its walks in their inference form (:func:`switch_to_deploy`)."""
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = init_model(for_one_process(cfg), device='cpu')
    if checkpoint != 'none':
        load_fitting_checkpoint(model, checkpoint)
    if deploy:
        switch_to_deploy(model)
    return cfg, model.eval()
