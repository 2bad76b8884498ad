# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The model an export starts from, as the deployment tools build it."""
import torch
from mmengine.config import Config
from mmseg.apis import init_model

from ..checkpoint import load_fitting_checkpoint
from ..utils import for_one_process

PARITY_SIZES = [(96, 128), (100, 130), (90, 121)]  # multiples of 8, and not


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


def nonzero_bn_checkpoint(config: str, path: str, size=(96, 128)) -> str:
    """Write to ``path`` the config's model with every BN γ in U(0.5, 1.5), β in U(-0.2, 0.2)
    and running statistics from three training-mode passes (logits of a trained model's
    scale; mmseg's ResNet starts some γ at 0, which an exporter may fold away)."""
    _, model = build_for_export(config, 'none')
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.weight.data = torch.rand(m.weight.shape, generator=g) + 0.5
            m.bias.data = (torch.rand(m.bias.shape, generator=g) - 0.5) * 0.4
            m.momentum = None  # a cumulative average over the passes
            m.reset_running_stats()
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model((torch.rand(2, 3, *size, generator=g) * 255 - 120) / 58, mode='tensor')
    torch.save({'state_dict': model.eval().state_dict(), 'meta': {}}, path)
    return path
