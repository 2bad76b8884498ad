# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Adaptive max pooling in ops every ONNX exporter has (the walks pool Ψ to the grid)."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


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
