# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Ψ's embedding for inference: what :meth:`RandomWalk.switch_to_deploy` puts in place of
conv1×1 - BN. The BN is folded into the conv once (as mmcv's ``fuse_conv_bn`` and RepVGG's
deploy step do), a level with fewer channels than Ψ is convolved channels-last, and on a CPU
the image level is convolved and pooled in bands of rows. Equal to the training path to float
rounding (tests/test_fast_diffusion.py); measured in docs/fast_diffusion.md."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..utils.exporting import exporting
from .export_pooling import pool_to_grid

# one band of conv output in floats: 4 MiB in fp32, within a core's L2 on the CPUs measured
DEFAULT_BAND_FLOATS = 1 << 20


def fold_conv_bn(conv: nn.Conv2d, norm: nn.Module) -> Tuple[Tensor, Tensor]:
    """Weight and bias of ``norm(conv(x))`` as one conv, the BatchNorm using its running
    statistics: BN(z) = a·z + (β − a·μ) with a = γ / √(σ² + ε), so W' = a·W,
    b' = a·(b − μ) + β. (d, C, 1, 1), (d,)."""
    if not isinstance(norm, nn.modules.batchnorm._BatchNorm) or norm.running_var is None:
        raise TypeError(f'fold_conv_bn: {type(norm).__name__} has no running statistics to '
                        'fold; only a BatchNorm that tracks them folds into its conv.')
    a = torch.rsqrt(norm.running_var + norm.eps)  # (d,)
    if norm.weight is not None:
        a = a * norm.weight
    bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
    b = (bias - norm.running_mean) * a
    if norm.bias is not None:
        b = b + norm.bias
    return conv.weight * a.view(-1, 1, 1, 1), b


def banded_conv_pool(f: Tensor, weight: Tensor, bias: Tensor, grid: Tuple[int, int],
                     band_rows: int) -> Tensor:
    """adaptive_max_pool2d(conv1×1(f), grid) without writing the conv's output whole.

    A 1×1 conv maps rows to rows, and a max over a window is a max over its rows of the
    maxima over its columns; so each band of ``band_rows`` rows is convolved (channels-last)
    and pooled over the columns to the grid's width, and the stacked bands are pooled over the
    rows to the grid's height: the same windows as one adaptive pooling of the whole map.
    (B, C, H, W), (d, C, 1, 1), (d,) -> (B, d, h, w)."""
    bands = []
    for r in range(0, f.shape[2], band_rows):
        z = F.conv2d(f[:, :, r:r + band_rows].contiguous(memory_format=torch.channels_last),
                     weight, bias)  # (B, d, rows, W)
        bands.append(F.adaptive_max_pool2d(z, (z.shape[-2], grid[1])))  # (B, d, rows, w)
    return F.adaptive_max_pool2d(torch.cat(bands, dim=2), grid)  # (B, d, H, w) -> (B, d, h, w)


class FusedEmbedding(nn.Module):
    """conv1×1 - BN of Ψ as one conv, for inference.

    Args:
        conv (nn.Conv2d): Ψ's 1×1 conv (C_t → d).
        norm (nn.Module): The BatchNorm after it, with running statistics.
        band_floats (int): Floats of conv output per band of rows on the banded path (a
            CPU, fewer channels than Ψ, a level off the grid's size): sized to fit a core's
            L2 cache. Default: :data:`DEFAULT_BAND_FLOATS` (4 MiB in fp32).
    """

    def __init__(self, conv: nn.Conv2d, norm: nn.Module,
                 band_floats: int = DEFAULT_BAND_FLOATS) -> None:
        super().__init__()
        if band_floats < 1:
            raise ValueError(f'FusedEmbedding: band_floats={band_floats} must be at least 1.')
        self.band_floats = band_floats
        weight, bias = fold_conv_bn(conv, norm)
        self.conv = nn.Conv2d(conv.in_channels, conv.out_channels, 1, bias=True).to(weight)
        with torch.no_grad():
            self.conv.weight.copy_(weight)
            self.conv.bias.copy_(bias)

    def forward(self, f: Tensor) -> Tensor:
        """BN(conv1×1(f)): (B, C_t, H_t, W_t) -> (B, d, H_t, W_t); a level with fewer
        channels than Ψ (the image) channels-last, which oneDNN computes faster."""
        if f.shape[1] < self.conv.out_channels:
            f = f.contiguous(memory_format=torch.channels_last)
        return self.conv(f)

    def banded(self, f: Tensor, grid: Tuple[int, int]) -> bool:
        """Whether :meth:`pooled` takes the banded path for f: on a CPU (not on a GPU, whose
        memory is fast and whose kernel launches the bands would multiply), a level with fewer
        channels than Ψ, off the grid's size, not being exported."""
        return (f.device.type == 'cpu' and f.shape[1] < self.conv.out_channels
                and tuple(f.shape[-2:]) != tuple(grid) and not exporting())

    def pooled(self, f: Tensor, grid: Tuple[int, int]) -> Tensor:
        """maxpool(BN(conv1×1(f))) at the grid: (B, C_t, H_t, W_t) -> (B, d, h, w); on a CPU
        the other levels are pooled from a channels-last copy (the same maxima)."""
        if self.banded(f, grid):
            rows = max(1, self.band_floats // (f.shape[0] * self.conv.out_channels * f.shape[3]))
            return banded_conv_pool(f, self.conv.weight, self.conv.bias, grid, rows)
        return pool_to_grid(self(f), grid, channels_last=f.device.type == 'cpu')
