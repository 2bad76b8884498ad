# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The random walk ⊕ of DifNet (Jiang et al., NeurIPS 2018, Eq. 3-5).

Shapes: B batch, K classes, C_t channels of similarity level t, d = embedding width of Ψ,
(h, w) the diffusion grid (the score map's size) and N = h * w nodes.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor


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
        init_cfg (dict | list[dict], optional): Initialisation config. Default: None.
    """

    def __init__(self,
                 in_channels: int,
                 *,
                 embed_channels: int = 64,
                 norm_cfg: ConfigType = dict(type='BN'),
                 mu_init: float = 0.5,
                 beta_init: float = 0.5,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, value in (('mu_init', mu_init), ('beta_init', beta_init)):
            if not 0.0 < value < 1.0:
                raise ValueError(f'RandomWalk: {name}={value} must lie strictly in (0, 1), '
                                 'the range of the sigmoid that parametrises it.')
        self.in_channels = in_channels
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
        """P = softmax(Ψᵀ Ψ) row-wise (Eq. 4): (B, N, d) -> (B, N, N), rows sum to 1."""
        return torch.softmax(psi @ psi.transpose(1, 2), dim=-1)  # (B, N, N)

    def propagate(self, psi: Tensor, y: Tensor) -> Tensor:
        """P y: (B, N, d), (B, N, K) -> (B, N, K)."""
        return self.transition(psi) @ y

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
        py = self.propagate(psi, y.flatten(2).transpose(1, 2))  # (B, N, K)
        py = py.transpose(1, 2).reshape(B, K, h, w)
        mu, beta = self.mu, self.beta
        return beta * (mu * py + (1 - mu) * s) + (1 - beta) * y
