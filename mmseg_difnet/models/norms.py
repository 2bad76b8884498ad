# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The norms of H and Ψ: initialised as the reference's, and folded into Ψ's conv at
inference."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmseg.utils import ConfigType
from torch import Tensor

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


def folded_conv_bn(conv: nn.Conv2d, norm: nn.Module) -> Optional[Tuple[Tensor, Tensor]]:
    """Weight and bias of ``norm(conv(x))`` as one conv, where ``norm`` is a BatchNorm that
    uses its running statistics (eval mode); None otherwise (training, other norms).
    BN(z) = a·z + (β − a·μ) with a = γ / √(σ² + ε), so W' = a·W, b' = a·(b − μ) + β.
    Computed per call from the parameters (mmcv's ``fuse_conv_bn`` rewrites the module in
    place, which would change the trained model)."""
    if (not isinstance(norm, nn.modules.batchnorm._BatchNorm) or norm.training
            or norm.running_var is None):
        return None
    a = torch.rsqrt(norm.running_var + norm.eps)  # (d,)
    if norm.weight is not None:
        a = a * norm.weight
    bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
    b = (bias - norm.running_mean) * a
    if norm.bias is not None:
        b = b + norm.bias
    return conv.weight * a.view(-1, 1, 1, 1), b  # (d, C_t, 1, 1), (d,)
