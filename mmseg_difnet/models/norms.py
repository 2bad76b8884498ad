# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The norms of H and Ψ, initialised as the reference's."""
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmseg.utils import ConfigType

NORM_WEIGHT_INITS = ('uniform', 'ones')


def build_reference_norm(norm_cfg: ConfigType, channels: int, weight_init: str) -> nn.Module:
    """A norm layer of H or Ψ, initialised as the reference's: outside its ResNet, no init loop
    reaches them (sdujump/DifNet model_difnet.py:21-23 and 46; the loop is :181-187), so they
    kept PyTorch 0.4's default, γ ~ U(0, 1) and β = 0. PyTorch ≥ 1.0 starts γ at 1.

    ``weight_init``: 'uniform' (the reference's γ ~ U(0, 1)) or 'ones' (today's default).
    """
    if weight_init not in NORM_WEIGHT_INITS:
        raise ValueError(f'norm_weight_init={weight_init!r} is not one of {NORM_WEIGHT_INITS}: '
                         "'uniform' is the reference's γ ~ U(0, 1), 'ones' PyTorch's γ = 1.")
    # a norm_cfg taken from an `mmseg::` base carries mmengine's `_scope_`, which mmcv's
    # build_norm_layer passes on to the layer's constructor
    norm_cfg = {k: v for k, v in norm_cfg.items() if k != '_scope_'}
    norm = build_norm_layer(norm_cfg, channels)[1]
    if weight_init == 'uniform' and getattr(norm, 'weight', None) is not None:
        nn.init.uniform_(norm.weight, 0.0, 1.0)
    return norm
