# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""P·y of a walk (Eq. 4-5), and the choice of the kernel that computes it.

Shapes: B batch, N nodes of the diffusion grid, d the width of Ψ, K classes.

P y = softmax(Ψ Ψᵀ) y is attention with Q = K = Ψ, V = y and scale 1, so fused attention
kernels compute it without storing the (B, N, N) matrix P: O(N) memory instead of O(N²).
Every path gives the same values and gradients (tests/test_random_walk.py); an exported
graph takes :func:`export_propagate`.
"""
import math
from typing import Callable, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.checkpoint import checkpoint

IMPLS = ('auto', 'fused', 'chunked', 'dense')
# Devices with a fused SDPA kernel (flash or memory-efficient) for these dtypes. The choice
# is a pure function of the inputs: no state, no trial call whose failure would be guessed at.
_FUSED_DTYPES = {
    'cpu': (torch.float32, torch.float64, torch.bfloat16, torch.float16),
    'cuda': (torch.float32, torch.bfloat16, torch.float16),
}
_FUSED_MAX_WIDTH = 256  # the largest head width the CUDA kernels take
EXPORT_DENSE_MAX_N = 16384  # exported P·y forms P up to this N (1 GiB fp32 an image), then rows
EXPORT_CHUNK = 4096


def transition_matrix(psi: Tensor) -> Tensor:
    """P = softmax(Ψ Ψᵀ) row-wise, no 1/√d (Eq. 4): (B, N, d) -> (B, N, N), rows sum to 1."""
    return torch.softmax(psi @ psi.transpose(1, 2), dim=-1)  # (B, N, N)


def dense_propagate(psi: Tensor, y: Tensor) -> Tensor:
    """The plain computation: P formed explicitly. (B, N, d), (B, N, K) -> (B, N, K)."""
    return transition_matrix(psi) @ y  # (B, N, N) @ (B, N, K)


def _fused_width(d: int, K: int) -> int:
    """Common head width of Q, K and V for the fused kernels: a multiple of 8."""
    return 8 * math.ceil(max(d, K) / 8)


def fused_propagate(psi: Tensor, y: Tensor) -> Tensor:
    """P y through a fused SDPA kernel (flash, or memory-efficient), never forming P.

    The kernels need one head width for Q, K and V, and without it PyTorch silently falls
    back to the unfused O(N²) path; so Ψ and y are zero-padded to a common width (a multiple
    of 8). Zero columns change neither Ψ Ψᵀ nor the first K columns of P y. The allowed
    backends exclude the unfused one: if no fused kernel applies, this raises.
    """
    d, K = psi.shape[-1], y.shape[-1]
    width = _fused_width(d, K)
    # kernels also need unit stride in the last dimension
    q = F.pad(psi, (0, width - d)).contiguous().unsqueeze(1)  # (B, 1, N, width): one head
    v = F.pad(y, (0, width - K)).contiguous().unsqueeze(1)  # (B, 1, N, width)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]):
        out = F.scaled_dot_product_attention(q, q, v, scale=1.0)  # no 1/sqrt(d) (Eq. 4)
    return out[:, 0, :, :K]  # (B, N, K)


Blocks = Union[Tensor, Tuple[Tensor, ...]]


def row_blocks(fn: Callable[[int, int], Blocks], N: int, chunk: int,
               checkpointed: bool) -> Blocks:
    """``fn(start, stop)`` for the nodes start .. stop − 1 of N, ``chunk`` at a time, its
    outputs (a tensor, or a tuple of them, with the nodes on dim 1) concatenated on dim 1;
    with ``checkpointed`` each block is recomputed in backward, so memory is O(chunk·N) for
    rows of an (N, N) matrix. The row blocks of P·y and of the similarity score and the
    affinity loss."""
    parts = [checkpoint(fn, i, min(i + chunk, N), use_reentrant=False) if checkpointed
             else fn(i, min(i + chunk, N)) for i in range(0, N, chunk)]
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(p, dim=1) for p in zip(*parts))
    return torch.cat(parts, dim=1)


def _rows(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Rows of P for the nodes q: (B, c, d), (B, N, d), (B, N, K) -> (B, c, K)."""
    return torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v  # (B, c, N) @ (B, N, K)


def chunked_propagate(psi: Tensor, y: Tensor, chunk: int = 1024) -> Tensor:
    """P y, ``chunk`` rows of P at a time, each recomputed in backward: O(chunk·N) memory
    where no fused kernel applies."""
    N = psi.shape[1]
    if N <= chunk:
        return dense_propagate(psi, y)
    return row_blocks(lambda a, b: _rows(psi[:, a:b], psi, y), N, chunk, True)  # (B, N, K)


def choose_impl(impl: str, psi: Tensor, y: Tensor) -> Tuple[str, Optional[str]]:
    """The path that ``propagate(psi, y, impl)`` takes, and why 'auto' left the fused one.

    A pure function of ``impl`` and the inputs' device, dtype and widths. Returns
    ``(path, reason)``: ``path`` is 'fused', 'chunked' or 'dense'; ``reason`` is None
    unless 'auto' had to fall back to 'chunked'.
    """
    if impl not in IMPLS:
        raise ValueError(f'impl={impl!r} is not one of {IMPLS}.')
    if impl != 'auto':
        return impl, None
    device, dtype = psi.device.type, psi.dtype
    if dtype not in _FUSED_DTYPES.get(device, ()):
        return 'chunked', f'no fused attention kernel takes {dtype} on {device!r}'
    width = _fused_width(psi.shape[-1], y.shape[-1])
    if device == 'cuda' and width > _FUSED_MAX_WIDTH:
        return 'chunked', (f'head width {width} = max(Ψ width {psi.shape[-1]}, classes '
                           f'{y.shape[-1]}) exceeds the fused kernels\' {_FUSED_MAX_WIDTH}')
    return 'fused', None


def export_propagate(psi: Tensor, y: Tensor, chunk: int = EXPORT_CHUNK,
                     dense_max: int = EXPORT_DENSE_MAX_N) -> Tensor:
    """P y as an exported graph takes it: MatMul, Softmax, MatMul on y's own K columns (the
    fused kernels' zero padding to one width would only multiply the work by width / K).
    P is formed whole where N is symbolic (a dynamic-size export) or at most ``dense_max``;
    beyond, in row blocks of ``chunk``, so a large fixed-size export
    never holds the (B, N, N) matrix. (B, N, d), (B, N, K) -> (B, N, K)."""
    N = psi.shape[1]
    if not isinstance(N, int) or N <= dense_max:
        return dense_propagate(psi, y)
    return row_blocks(lambda a, b: _rows(psi[:, a:b], psi, y), N, chunk, False)


_PATHS = dict(fused=fused_propagate, chunked=chunked_propagate, dense=dense_propagate)


def propagate(psi: Tensor, y: Tensor, impl: str = 'auto') -> Tensor:
    """P y with P = softmax(Ψ Ψᵀ) row-wise: (B, N, d), (B, N, K) -> (B, N, K).

    ``impl``: 'dense' (forms P explicitly), 'fused' (SDPA kernels, raises if none
    applies), 'chunked', or 'auto' (the path of :func:`choose_impl`). Errors of the chosen
    path, out-of-memory included, propagate.
    """
    return _PATHS[choose_impl(impl, psi, y)[0]](psi, y)
