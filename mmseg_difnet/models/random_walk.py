# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The random walk ⊕ of DifNet (Jiang et al., NeurIPS 2018, Eq. 3-5).

Shapes: B batch, K classes, C_t channels of similarity level t, d = embedding width of Ψ,
(h, w) the diffusion grid (the score map's size) and N = h * w nodes. P·y and its kernels:
:mod:`.propagation`.
"""
import logging
from typing import Optional, Set, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor

from ..utils.exporting import exporting
from .export_pooling import pool_to_grid
from .fused_embedding import DEFAULT_BAND_FLOATS, FusedEmbedding
from .norms import build_reference_norm
from .propagation import IMPLS, choose_impl, export_propagate, propagate


class Embedding(nn.Sequential):
    """Ψ before pooling: conv1×1 (C_t → d, with bias) - norm, as the reference's ``Diffuse``
    (sdujump/DifNet model_difnet.py:45-46, which no init loop reaches): the conv with PyTorch's
    default init (kaiming_uniform with a=√5, bias U(±1/√C_t)), the norm's γ ~ U(0, 1) (see
    :func:`build_reference_norm`), not mmcv's ConvModule, whose kaiming fan_out init slows the
    learning of Ψ (docs/reference_differences.md, row 1)."""

    def __init__(self, in_channels: int, embed_channels: int, norm_cfg: ConfigType,
                 norm_weight_init: str = 'uniform') -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, embed_channels, 1, bias=True)
        self.bn = build_reference_norm(norm_cfg, embed_channels, norm_weight_init)

    def pooled(self, f: Tensor, grid: Tuple[int, int]) -> Tensor:
        """maxpool(BN(conv1×1(f))) at the grid: (B, C_t, H_t, W_t) -> (B, d, h, w)."""
        return pool_to_grid(self(f), grid)


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
        learn_temperature (bool): Beyond the paper (docs/studies/similarity.md): P =
            softmax(τ Ψ Ψᵀ) with a learned temperature τ = exp(log τ) > 0 that starts at 1
            (the paper's P), so that a walk can sharpen or flatten P without moving Ψ. Ψ is
            scaled by √τ (:meth:`embed`), so every path of P·y, the similarity score and the
            affinity loss see the same P. Default: False (no parameter: the paper's walk).
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
                 learn_temperature: bool = False,
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
        self.log_temperature = nn.Parameter(torch.zeros(())) if learn_temperature else None
        self._reported: Set[str] = set()  # fallback reasons already logged by this walk

    @property
    def mu(self) -> Tensor:
        """μ_t of Eq. 4, in (0, 1)."""
        return torch.sigmoid(self.mu_logit)

    @property
    def beta(self) -> Tensor:
        """β_t of Eq. 5, in (0, 1)."""
        return torch.sigmoid(self.beta_logit)

    @property
    def temperature(self) -> Optional[Tensor]:
        """τ of P = softmax(τ Ψ Ψᵀ) (``learn_temperature``), or None: the paper's τ = 1."""
        return None if self.log_temperature is None else torch.exp(self.log_temperature)

    def embed(self, f: Tensor, grid: Tuple[int, int]) -> Tensor:
        """Ψ(f): (B, C_t, H_t, W_t) -> (B, N, d), adaptive max pooling to ``grid``; with a
        learned temperature τ, √τ Ψ (softmax((√τ Ψ)(√τ Ψ)ᵀ) = softmax(τ Ψ Ψᵀ))."""
        if f.shape[1] != self.in_channels:
            raise ValueError(
                f'RandomWalk: the similarity level has {f.shape[1]} channels but this walk '
                f'was built for {self.in_channels}; set decode_head.sim_channels to the '
                'channels of the similarity levels (the image has 3).')
        psi = self.psi.pooled(f, grid).flatten(2).transpose(1, 2)  # (B, N, d)
        if self.log_temperature is None:
            return psi
        return psi * torch.exp(0.5 * self.log_temperature)

    def switch_to_deploy(self, band_floats: int = DEFAULT_BAND_FLOATS) -> bool:
        """The inference form of Ψ (:class:`FusedEmbedding`): the BN folded into the conv with
        its running statistics, channels-last and, on a CPU, the image level convolved and
        pooled in bands of ``band_floats`` floats. Not for training (the BN is gone); a norm
        without running statistics (GN, LN) stays. Returns whether Ψ was fused."""
        if isinstance(self.psi, FusedEmbedding):
            return True
        if not isinstance(self.psi.bn, nn.modules.batchnorm._BatchNorm) or \
                self.psi.bn.running_var is None:
            return False
        self.psi = FusedEmbedding(self.psi.conv, self.psi.bn, band_floats)
        return True

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
