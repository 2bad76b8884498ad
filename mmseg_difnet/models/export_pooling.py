# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The walks' pooling of Ψ to the diffusion grid, and adaptive max pooling in ops every ONNX
exporter has."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils.exporting import exporting


def adaptive_max_pool2d(x: Tensor, size: Tuple[int, int]) -> Tensor:
    """``F.adaptive_max_pool2d(x, size)`` in ops every exporter has, for any input and output
    sizes, symbolic ones included (its bins: rows floor(i·H/h) .. ceil((i+1)·H/h) − 1, the
    same for columns). Where the sizes are known and divide (a fixed-size export), the bins
    are the windows of a plain max pool; else max pooling over a rectangle is taken as
    separable: rows first, then columns, each output gathering k = ceil(H/h) + 1 rows, an
    upper bound on a bin's length; the indices past a bin's end repeat its last row, which
    leaves the max unchanged. (B, C, H, W) -> (B, C, h, w)."""
    H, W = x.shape[2:]
    if all(isinstance(v, int) for v in (H, W, *size)) and H % size[0] == W % size[1] == 0:
        kernel = (H // size[0], W // size[1])
        return x if kernel == (1, 1) else F.max_pool2d(x, kernel)  # (B, C, h, w)
    for dim, out in ((2, size[0]), (3, size[1])):
        n = x.shape[dim]
        i = torch.arange(out, device=x.device)
        start, end = (i * n) // out, ((i + 1) * n + out - 1) // out  # (out,) each
        k = (n + out - 1) // out + 1
        idx = torch.minimum(start[:, None] + torch.arange(k, device=x.device), end[:, None] - 1)
        g = x.index_select(dim, idx.flatten())  # dim: out·k
        x = g.unflatten(dim, (out, k)).amax(dim + 1)  # (B, C, h, W), then (B, C, h, w)
    return x


def pool_to_grid(z: Tensor, grid: Tuple[int, int], channels_last: bool = False) -> Tensor:
    """Adaptive max pooling of Ψ to the diffusion grid: (B, d, H_t, W_t) -> (B, d, h, w). A
    level already at the grid's size is returned as it is (the pooling would be a copy);
    while exporting, :func:`adaptive_max_pool2d`. ``channels_last``: pool a channels-last
    copy, the same maxima, which PyTorch's CPU kernel computes faster than NCHW, the copy
    included (measured in docs/fast_diffusion.md)."""
    if exporting():
        return adaptive_max_pool2d(z, grid)
    if tuple(z.shape[-2:]) == tuple(grid):
        return z
    if channels_last:
        z = z.contiguous(memory_format=torch.channels_last)
    return F.adaptive_max_pool2d(z, grid)
