# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Post-processors of any model's class probabilities, guided by the image (beyond the paper;
docs/studies/refinement.md, "Post-processing"): the learned refiner's diffusion and DenseCRF,
behind one interface, ``post(probs, rgb) -> probs``, that :class:`PostProcessedSegmentor`
calls.

Shapes: B batch, K classes, (H, W) the model's input (as the test pipeline fed it), rgb
(B, 3, H, W) in 0..255, (h, w) the refiner's grid, N = h·w.
"""
import math
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.utils import ConfigType
from torch import Tensor

from ..checkpoint import load_fitting_checkpoint
from .affinity_refiner import AffinityRefiner
from .propagation import propagate


def joint_bilateral_upsample(z: Tensor, rgb: Tensor, sigma: Optional[float]) -> Tensor:
    """``z`` (B, C, h, w) to the image's (H, W), each pixel a mean of its 2×2 nearest grid
    nodes weighted by the bilinear weights times exp(−|c − c_node|² / 2σ²), c the pixel's
    colour and c_node the mean colour of the node's cell, both in [0, 1] (joint bilateral
    upsampling, Kopf et al. 2007): a value does not cross a colour edge. ``sigma`` None:
    plain bilinear (``F.interpolate``, align_corners=False). -> (B, C, H, W)."""
    H, W = rgb.shape[-2:]
    if sigma is None:
        return F.interpolate(z, size=(H, W), mode='bilinear', align_corners=False)
    h, w = z.shape[-2:]
    colour = rgb / 255.0  # (B, 3, H, W)
    cells = F.adaptive_avg_pool2d(colour, (h, w))  # (B, 3, h, w)

    def taps(n_out, n_in, device):  # the two nodes below/above each pixel and their weights
        u = ((torch.arange(n_out, device=device) + 0.5) * n_in / n_out - 0.5).clamp(min=0)
        lo = u.floor().long().clamp(max=n_in - 1)
        frac = u - lo
        return (lo, (lo + 1).clamp(max=n_in - 1)), (1 - frac, frac)
    (y0, y1), (wy0, wy1) = taps(H, h, z.device)
    (x0, x1), (wx0, wx1) = taps(W, w, z.device)
    num = torch.zeros(z.shape[0], z.shape[1], H, W, dtype=z.dtype, device=z.device)
    den = torch.zeros(z.shape[0], 1, H, W, dtype=z.dtype, device=z.device)
    for iy, wy in ((y0, wy0), (y1, wy1)):
        for ix, wx in ((x0, wx0), (x1, wx1)):
            near = cells[:, :, iy[:, None], ix[None, :]]  # (B, 3, H, W)
            rng = torch.exp(-((colour - near) ** 2).sum(1, keepdim=True) / (2 * sigma ** 2))
            wgt = (wy[:, None] * wx[None, :]) * rng + 1e-12  # (B, 1, H, W)
            num += wgt * z[:, :, iy[:, None], ix[None, :]]
            den += wgt
    return num / den


@MODELS.register_module()
class Refiner(nn.Module):
    """The learned refiner's diffusion of a model's probabilities (the base never retrained).

    p̄ = avgpool(p) on the refiner's grid; y_0 = p̄, y_{t+1} = P y_t for ``steps`` steps,
    P = softmax(τ Ψ Ψᵀ) from the :class:`AffinityRefiner`'s Ψ of the image; the change
    y_T − p̄, brought to the image by :func:`joint_bilateral_upsample`, is added where the
    base is unsure: p' = p + min(1, α (1 − max_k p)) · up(y_T − p̄). α = 0 is the identity;
    confident pixels barely move; p' sums to 1 per pixel (P is row-stochastic).

    Args:
        refiner (dict): The :class:`AffinityRefiner` config (its data preprocessor's mean,
            std and channel order normalise the image for it).
        checkpoint (str, optional): Its trained weights (tools/train.py's checkpoint).
        steps (int): Diffusion steps T. Default: 3.
        alpha (float): Gate α ≥ 0. Default: 1.0.
        temperature (float): τ > 0. Default: 1.0.
        sigma (float, optional): Colour σ of the upsampling, None for bilinear. Default: 0.1.
    """

    def __init__(self, refiner: ConfigType, checkpoint: Optional[str] = None, *,
                 steps: int = 3, alpha: float = 1.0, temperature: float = 1.0,
                 sigma: Optional[float] = 0.1) -> None:
        super().__init__()
        for name, value, ok in (('steps', steps, steps >= 0), ('alpha', alpha, alpha >= 0),
                                ('temperature', temperature, temperature > 0),
                                ('sigma', sigma, sigma is None or sigma > 0)):
            if not ok:
                raise ValueError(f'post_processor.{name}={value!r} is out of range (steps ≥ 0, '
                                 'alpha ≥ 0, temperature > 0, sigma > 0 or None).')
        self.refiner = MODELS.build(refiner)
        if not isinstance(self.refiner, AffinityRefiner):
            raise TypeError(f'post_processor.refiner builds {type(self.refiner).__name__}, not '
                            'an AffinityRefiner.')
        if checkpoint is not None:
            load_fitting_checkpoint(self.refiner, checkpoint)
        self.refiner.eval()
        self.steps, self.alpha, self.temperature, self.sigma = steps, alpha, temperature, sigma

    def normalise(self, rgb: Tensor) -> Tensor:
        """The image as the refiner was trained on it: its preprocessor's order, mean, std."""
        pre = self.refiner.data_preprocessor
        x = rgb if getattr(pre, 'channel_conversion', False) else rgb.flip(1)
        if getattr(pre, '_enable_normalize', False):
            x = (x - pre.mean) / pre.std
        return x

    def train(self, mode: bool = True):  # the refiner is trained apart: always inference
        super().train(mode)
        self.refiner.eval()
        return self

    def walk(self, probs: Tensor, rgb: Tensor) -> Tuple[Tensor, Tensor, List[Tensor]]:
        """The diffusion on the refiner's grid (h, w): ``(psi, p_bar, ys)``, Ψ·√τ (B, N, d)
        (P = softmax(psi psiᵀ)), p̄ (B, K, h, w) and y_1 .. y_T, each (B, K, h, w)."""
        psi = self.refiner.embed(self.normalise(rgb))  # (B, d, h, w)
        B, K, (h, w) = probs.shape[0], probs.shape[1], psi.shape[-2:]
        p_bar = F.adaptive_avg_pool2d(probs, (h, w))  # (B, K, h, w)
        psi = psi.flatten(2).transpose(1, 2) * math.sqrt(self.temperature)  # (B, N, d)
        ys, y = [], p_bar.flatten(2).transpose(1, 2)  # (B, N, K)
        for _ in range(self.steps):
            y = propagate(psi, y)  # P y
            ys.append(y.transpose(1, 2).reshape(B, K, h, w))
        return psi, p_bar, ys

    def diffuse(self, probs: Tensor, rgb: Tensor) -> Tensor:
        """The change up(y_T − p̄) of :class:`Refiner`'s formula: (B, K, H, W)."""
        _, p_bar, ys = self.walk(probs, rgb)
        return joint_bilateral_upsample((ys[-1] if ys else p_bar) - p_bar, rgb, self.sigma)

    def gate(self, probs: Tensor) -> Tensor:
        """min(1, α (1 − max_k p)): how far each pixel takes the change, (B, 1, H, W)."""
        return (self.alpha * (1 - probs.amax(1, keepdim=True))).clamp(max=1)

    def forward(self, probs: Tensor, rgb: Tensor) -> Tensor:
        if self.alpha == 0 or self.steps == 0:
            return probs
        return probs + self.gate(probs) * self.diffuse(probs, rgb)


@MODELS.register_module()
class DenseCRF(nn.Module):
    """DenseCRF (Krähenbühl and Koltun 2011) on a model's probabilities, as DeepLab applies
    it: unary −log p, a Gaussian kernel (position) and a bilateral one (position and colour),
    mean-field ``iterations``. Needs ``pydensecrf2`` (``pip install pydensecrf2==1.1``, an
    optional extra of this package: ``pip install 'mmseg-difnet[densecrf]'``); runs on the
    CPU, image by image.

    Args:
        iterations (int): Mean-field iterations. Default: 5.
        gauss_sxy (float), gauss_compat (float): The Gaussian kernel's σ (pixels) and
            weight. Default: 3, 3.
        bilateral_sxy (float), bilateral_srgb (float), bilateral_compat (float): The
            bilateral kernel's σ (pixels), colour σ (0..255) and weight. Default: 50, 5, 4.
    """

    def __init__(self, *, iterations: int = 5, gauss_sxy: float = 3, gauss_compat: float = 3,
                 bilateral_sxy: float = 50, bilateral_srgb: float = 5,
                 bilateral_compat: float = 4) -> None:
        super().__init__()
        try:
            import pydensecrf.densecrf  # noqa: F401
        except ImportError as e:
            raise ImportError(
                "post_processor=dict(type='DenseCRF') needs pydensecrf2: pip install "
                "pydensecrf2==1.1 (or 'mmseg-difnet[densecrf]'; it builds from source, a C++ "
                'compiler is needed).') from e
        self.iterations = iterations
        self.gauss = dict(sxy=gauss_sxy, compat=gauss_compat)
        self.bilateral = dict(sxy=bilateral_sxy, srgb=bilateral_srgb, compat=bilateral_compat)

    def forward(self, probs: Tensor, rgb: Tensor) -> Tensor:
        import pydensecrf.densecrf as dcrf
        B, K, H, W = probs.shape
        out = []
        for p, img in zip(probs.detach().float().cpu().numpy(),
                          rgb.detach().cpu().numpy()):
            crf = dcrf.DenseCRF2D(W, H, K)
            unary = -np.log(np.clip(p, 1e-8, 1.0)).reshape(K, -1)
            crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
            crf.addPairwiseGaussian(**self.gauss)
            image = np.ascontiguousarray(img.transpose(1, 2, 0).clip(0, 255).astype(np.uint8))
            crf.addPairwiseBilateral(rgbim=image, **self.bilateral)
            q = np.array(crf.inference(self.iterations), dtype=np.float32).reshape(K, H, W)
            out.append(torch.from_numpy(q))
        return torch.stack(out).to(probs)
