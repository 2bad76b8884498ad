# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The random walk ⊕ of DifNet (Jiang et al., NeurIPS 2018, Eq. 3-5).

Shapes: B batch, K classes, C_t channels of similarity level t, d = embedding width of Ψ,
(h, w) the diffusion grid (the score map's size) and N = h * w nodes.

P y = softmax(Ψ Ψᵀ) y is attention with Q = K = Ψ, V = y and scale 1, so fused attention
kernels compute it without storing the (B, N, N) matrix P: O(N) memory instead of O(N²).
"""
import math
from typing import Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.checkpoint import checkpoint

IMPLS = ('auto', 'fused', 'chunked', 'dense')
# (device type, dtype) -> whether a fused SDPA kernel ran; filled on first use
_FUSED_WORKS: Dict[Tuple[str, torch.dtype], bool] = {}


def transition_matrix(psi: Tensor) -> Tensor:
    """P = softmax(Ψ Ψᵀ) row-wise, no 1/√d (Eq. 4): (B, N, d) -> (B, N, N), rows sum to 1."""
    return torch.softmax(psi @ psi.transpose(1, 2), dim=-1)  # (B, N, N)


def dense_propagate(psi: Tensor, y: Tensor) -> Tensor:
    """The reference: P formed explicitly. (B, N, d), (B, N, K) -> (B, N, K)."""
    return transition_matrix(psi) @ y  # (B, N, N) @ (B, N, K)


def fused_propagate(psi: Tensor, y: Tensor) -> Tensor:
    """P y through a fused SDPA kernel (flash, or memory-efficient), never forming P.

    The kernels need one head width for Q, K and V, and without it PyTorch silently falls
    back to the unfused O(N²) path; so Ψ and y are zero-padded to a common width (a multiple
    of 8). Zero columns change neither Ψ Ψᵀ nor the first K columns of P y. The allowed
    backends exclude the unfused one: if no fused kernel applies, this raises.
    """
    d, K = psi.shape[-1], y.shape[-1]
    width = 8 * math.ceil(max(d, K) / 8)
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


def propagate(psi: Tensor, y: Tensor, impl: str = 'auto') -> Tensor:
    """P y with P = softmax(Ψ Ψᵀ) row-wise: (B, N, d), (B, N, K) -> (B, N, K).

    ``impl``: 'dense' (the reference, forms P), 'fused' (SDPA kernels, raises if none
    applies), 'chunked', or 'auto' (fused where a kernel applies on this device and dtype,
    chunked elsewhere).
    """
    if impl == 'dense':
        return dense_propagate(psi, y)
    if impl == 'chunked':
        return chunked_propagate(psi, y)
    if impl == 'fused':
        return fused_propagate(psi, y)
    key = (psi.device.type, psi.dtype)
    if _FUSED_WORKS.get(key, True):
        try:
            out = fused_propagate(psi, y)
            _FUSED_WORKS[key] = True
            return out
        except RuntimeError:
            if key in _FUSED_WORKS:  # it ran before on this device: a genuine error
                raise
            _FUSED_WORKS[key] = False
    return chunked_propagate(psi, y)


@MODELS.register_module()
class RandomWalk(BaseModule):
    """One learned random walk ⊕_t of DifNet (Eq. 5).

    ``y' = β (μ P y + (1 − μ) s) + (1 − β) y`` with ``P = softmax(Ψᵀ Ψ)`` row-wise and no
    1/√d scaling, ``Ψ = maxpool(BN(conv1×1(f)))`` pooled to the grid of ``y``. μ and β are
    sigmoids of free parameters, so they stay in (0, 1) without clamping, and start at
    ``mu_init`` and ``beta_init`` (0.5 in the reference implementation).

    Args:
        in_channels (int): Channels C_t of the similarity level f_t that feeds this walk.
        embed_channels (int): Width d of the embedding Ψ. Default: 64.
        norm_cfg (dict): Normalisation after the 1×1 conv of Ψ. Default: ``dict(type='BN')``.
        mu_init (float): Initial μ, in (0, 1). Default: 0.5.
        beta_init (float): Initial β, in (0, 1). Default: 0.5.
        impl (str): How P y is computed: 'auto' (a fused attention kernel where one
            applies, else chunked), 'fused', 'chunked' or 'dense' (the reference, forms P).
            All give the same values and gradients. Default: 'auto'.
        init_cfg (dict | list[dict], optional): Initialisation config. Default: None.
    """

    def __init__(self,
                 in_channels: int,
                 *,
                 embed_channels: int = 64,
                 norm_cfg: ConfigType = dict(type='BN'),
                 mu_init: float = 0.5,
                 beta_init: float = 0.5,
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
        # Ψ: conv(1×1, with bias) - BN; the pooling to the grid happens in `embed`.
        self.psi = ConvModule(in_channels, embed_channels, 1, bias=True,
                              norm_cfg=norm_cfg, act_cfg=None)
        self.mu_logit = nn.Parameter(torch.logit(torch.tensor(float(mu_init))))
        self.beta_logit = nn.Parameter(torch.logit(torch.tensor(float(beta_init))))

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
        psi = F.adaptive_max_pool2d(self.psi(f), grid)  # (B, d, h, w)
        return psi.flatten(2).transpose(1, 2)  # (B, N, d)

    @staticmethod
    def transition(psi: Tensor) -> Tensor:
        """P (B, N, N) from Ψ (B, N, d), formed explicitly for inspection; the walk itself
        never needs it (see `propagate`)."""
        return transition_matrix(psi)

    def forward(self, f: Tensor, y: Tensor, s: Tensor) -> Tensor:
        """Apply ⊕_t (Eq. 5).

        Args:
            f (Tensor): Similarity level f_t, (B, C_t, H_t, W_t), any spatial size.
            y (Tensor): Output of the previous walk y_t, (B, K, h, w).
            s (Tensor): Seed s = M x, (B, K, h, w).

        Returns:
            Tensor: y_{t+1}, (B, K, h, w).
        """
        B, K, h, w = y.shape
        psi = self.embed(f, (h, w))  # (B, N, d)
        # Ψ Ψᵀ is not scaled, so under fp16 autocast it overflows for moderate feature norms:
        # the walk runs in (at least) fp32 whatever the autocast state (N is small; it costs little).
        dtype = torch.promote_types(y.dtype, torch.float32)
        with torch.autocast(y.device.type, enabled=False):
            py = propagate(psi.to(dtype), y.flatten(2).transpose(1, 2).to(dtype),
                           self.impl)  # (B, N, K)
        py = py.transpose(1, 2).reshape(B, K, h, w).to(y.dtype)
        mu, beta = self.mu, self.beta
        return beta * (mu * py + (1 - mu) * s) + (1 - beta) * y
