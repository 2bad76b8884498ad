# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The random walk ⊕ of DifNet (Jiang et al., NeurIPS 2018, Eq. 3-5).

Shapes: B batch, K classes, C_t channels of similarity level t, d = embedding width of Ψ,
(h, w) the diffusion grid (the score map's size) and N = h * w nodes.

P y = softmax(Ψ Ψᵀ) y is attention with Q = K = Ψ, V = y and scale 1, so fused attention
kernels compute it without storing the (B, N, N) matrix P: O(N) memory instead of O(N²).
"""
import logging
import math
from typing import Optional, Set, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.checkpoint import checkpoint

from ..utils.exporting import exporting

IMPLS = ('auto', 'fused', 'chunked', 'dense')
NORM_WEIGHT_INITS = ('uniform', 'ones')
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


def _rows(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Rows of P for the nodes q: (B, c, d), (B, N, d), (B, N, K) -> (B, c, K)."""
    return torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v  # (B, c, N) @ (B, N, K)


def chunked_propagate(psi: Tensor, y: Tensor, chunk: int = 1024) -> Tensor:
    """P y, ``chunk`` rows of P at a time, each recomputed in backward: O(chunk·N) memory
    where no fused kernel applies."""
    N = psi.shape[1]
    if N <= chunk:
        return dense_propagate(psi, y)
    return torch.cat([checkpoint(_rows, psi[:, i:i + chunk], psi, y, use_reentrant=False)
                      for i in range(0, N, chunk)], dim=1)  # (B, N, K)


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
    return torch.cat([_rows(psi[:, i:i + chunk], psi, y) for i in range(0, N, chunk)], dim=1)


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


_PATHS = dict(fused=fused_propagate, chunked=chunked_propagate, dense=dense_propagate)


def propagate(psi: Tensor, y: Tensor, impl: str = 'auto') -> Tensor:
    """P y with P = softmax(Ψ Ψᵀ) row-wise: (B, N, d), (B, N, K) -> (B, N, K).

    ``impl``: 'dense' (forms P explicitly), 'fused' (SDPA kernels, raises if none
    applies), 'chunked', or 'auto' (the path of :func:`choose_impl`). Errors of the chosen
    path, out-of-memory included, propagate.
    """
    return _PATHS[choose_impl(impl, psi, y)[0]](psi, y)


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


class Embedding(nn.Sequential):
    """Ψ before pooling: conv1×1 (C_t → d, with bias) - norm, as the reference's ``Diffuse``
    (sdujump/DifNet model_difnet.py:45-46, which no init loop reaches): the conv with PyTorch's
    default init (kaiming_uniform with a=√5, bias U(±1/√C_t)), the norm's γ ~ U(0, 1) (see
    :func:`build_reference_norm`). mmcv's ConvModule would init the conv kaiming fan_out:
    3-200× larger weights, so ~24-190× slower learning of the embedding direction behind the
    norm."""

    def __init__(self, in_channels: int, embed_channels: int, norm_cfg: ConfigType,
                 norm_weight_init: str = 'uniform') -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, embed_channels, 1, bias=True)
        self.bn = build_reference_norm(norm_cfg, embed_channels, norm_weight_init)


@MODELS.register_module()
class RandomWalk(BaseModule):
    """One learned random walk ⊕_t of DifNet (Eq. 5).

    ``y' = β (μ P y + (1 − μ) s) + (1 − β) y`` with ``P = softmax(Ψᵀ Ψ)`` row-wise and no
    1/√d scaling, ``Ψ = maxpool(BN(conv1×1(f)))`` pooled to the grid of ``y``. μ and β are
    sigmoids of free parameters, so they stay in (0, 1) without clamping, and start at
    ``mu_init`` and ``beta_init``. The reference (sdujump/DifNet model_difnet.py:41-42, 63)
    stores α = b = 0 and uses μ = σ(−α), β = σ(−b): 0.5 at start, the defaults here.

    Args:
        in_channels (int): Channels C_t of the similarity level f_t that feeds this walk.
        embed_channels (int): Width d of the embedding Ψ. Default: 64.
        norm_cfg (dict): Normalisation after the 1×1 conv of Ψ. Default: ``dict(type='BN')``.
        mu_init (float): Initial μ, in (0, 1). Default: 0.5.
        beta_init (float): Initial β, in (0, 1). Default: 0.5.
        norm_weight_init (str): Initial γ of Ψ's norm: 'uniform', U(0, 1) as the reference
            (PyTorch 0.4's default), or 'ones'. Default: 'uniform'.
        impl (str): How P y is computed: 'auto' (a fused attention kernel where one
            applies, else chunked; see :func:`choose_impl`), 'fused', 'chunked' or 'dense'
            (forms P explicitly). All give the same values and gradients.
            Default: 'auto'.
        init_cfg (dict | list[dict], optional): Initialisation config. Default: None.
    """

    def __init__(self,
                 in_channels: int,
                 *,
                 embed_channels: int = 64,
                 norm_cfg: ConfigType = dict(type='BN'),
                 mu_init: float = 0.5,
                 beta_init: float = 0.5,
                 norm_weight_init: str = 'uniform',
                 impl: str = 'auto',
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, value in (('mu_init', mu_init), ('beta_init', beta_init)):
            if not 0.0 < value < 1.0:
                raise ValueError(f'RandomWalk: {name}={value} must lie strictly in (0, 1), '
                                 'the range of the sigmoid that parametrises it.')
        if impl not in IMPLS:
            raise ValueError(f'RandomWalk: impl={impl!r} is not one of {IMPLS}.')
        self.in_channels = in_channels
        self.impl = impl
        self.psi = Embedding(in_channels, embed_channels, norm_cfg,
                             norm_weight_init)  # pooled in `embed`
        self.mu_logit = nn.Parameter(torch.logit(torch.tensor(float(mu_init))))
        self.beta_logit = nn.Parameter(torch.logit(torch.tensor(float(beta_init))))
        self._reported: Set[str] = set()  # fallback reasons already logged by this walk

    @property
    def mu(self) -> Tensor:
        """μ_t of Eq. 4, in (0, 1)."""
        return torch.sigmoid(self.mu_logit)

    @property
    def beta(self) -> Tensor:
        """β_t of Eq. 5, in (0, 1)."""
        return torch.sigmoid(self.beta_logit)

    def embed(self, f: Tensor, grid: Tuple[int, int]) -> Tensor:
        """Ψ(f): (B, C_t, H_t, W_t) -> (B, N, d), adaptive max pooling to ``grid``."""
        if f.shape[1] != self.in_channels:
            raise ValueError(
                f'RandomWalk: the similarity level has {f.shape[1]} channels but this walk '
                f'was built for {self.in_channels}; set decode_head.sim_channels to the '
                'channels of the similarity levels (the image has 3).')
        return self.pool(self.features(f), grid).flatten(2).transpose(1, 2)  # (B, N, d)

    def features(self, f: Tensor) -> Tensor:
        """BN(conv1×1(f)) at the level's resolution: (B, C_t, H_t, W_t) -> (B, d, H_t, W_t).

        At inference (the norm a BatchNorm using its running statistics) the norm is an
        affine map per channel and is folded into the conv's weights and bias: one pass over
        the (B, d, H_t, W_t) tensor instead of two, equal to float rounding for any sign of γ
        (the pooling comes after both). A level with fewer channels than Ψ (the image, at the
        input's full size) is convolved channels-last, which oneDNN computes faster than NCHW
        (measured in docs/fast_diffusion.md); the result is the same tensor."""
        folded = None if exporting() else folded_conv_bn(self.psi.conv, self.psi.bn)
        if folded is None:  # training (BN uses the batch's statistics), or an export
            return self.psi(f)
        if f.shape[1] < folded[0].shape[0]:
            f = f.contiguous(memory_format=torch.channels_last)
        return F.conv2d(f, *folded)  # (B, d, H_t, W_t)

    @staticmethod
    def pool(z: Tensor, grid: Tuple[int, int]) -> Tensor:
        """Adaptive max pooling of Ψ to the diffusion grid; a level already at the grid's size
        is returned as it is (the pooling would be a copy). (B, d, H_t, W_t) -> (B, d, h, w)."""
        if exporting():
            return adaptive_max_pool2d(z, grid)
        return z if tuple(z.shape[-2:]) == tuple(grid) else F.adaptive_max_pool2d(z, grid)

    def forward(self, f: Tensor, y: Tensor, s: Tensor, return_psi: bool = False):
        """Apply ⊕_t (Eq. 5).

        Args:
            f (Tensor): Similarity level f_t, (B, C_t, H_t, W_t), any spatial size.
            y (Tensor): Output of the previous walk y_t, (B, K, h, w).
            s (Tensor): Seed s = M x, (B, K, h, w).
            return_psi (bool): Also return Ψ_t (B, N, d, at least fp32), for the
                label-affinity loss and the similarity score. Default: False.

        Returns:
            Tensor: y_{t+1}, (B, K, h, w); with ``return_psi``, ``(y_{t+1}, Ψ_t)``.
        """
        B, K, h, w = y.shape
        psi = self.embed(f, (h, w))  # (B, N, d)
        # Ψ Ψᵀ is not scaled, so under fp16 autocast it overflows for moderate feature norms:
        # the walk runs in (at least) fp32 whatever the autocast state (N is small: it is cheap).
        dtype = torch.promote_types(y.dtype, torch.float32)
        psi, v = psi.to(dtype), y.flatten(2).transpose(1, 2).to(dtype)  # (B, N, d), (B, N, K)
        if exporting() and self.impl != 'dense':  # no SDPA padding, no checkpoint in a graph
            py = export_propagate(psi, v)  # (B, N, K)
        else:
            path, reason = choose_impl(self.impl, psi, v)
            if reason is not None and reason not in self._reported:
                self._reported.add(reason)
                print_log(f'RandomWalk: the chunked path computes P·y: {reason}.',
                          logger='current', level=logging.INFO)
            with torch.autocast(y.device.type, enabled=False):
                py = propagate(psi, v, path)  # (B, N, K)
        py = py.transpose(1, 2).reshape(B, K, h, w).to(y.dtype)
        mu, beta = self.mu, self.beta
        y_next = beta * (mu * py + (1 - mu) * s) + (1 - beta) * y
        return (y_next, psi) if return_psi else y_next
