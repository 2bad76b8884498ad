# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""A post-processing refiner trained once per dataset from its labels alone (beyond the paper;
docs/studies/refinement.md, "Post-processing"): a light image network gives Ψ at stride 4 of
its input, taught by the label-affinity loss that P = softmax(Ψ Ψᵀ) should send a node's mass
to nodes of its class. No segmentation model takes part in its training; any model's class
probabilities are then diffused by its P (:class:`~.post_processing.RefinerPostProcessor`).

Shapes: B batch, (H, W) the input, (h, w) = (H/4, W/4) the refiner's grid, N = h·w nodes,
d the width of Ψ, K classes.
"""
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig
from torch import Tensor

from .label_affinity import grid_labels


@MODELS.register_module()
class AffinityRefiner(BaseSegmentor):
    """Ψ at stride 4 from the first stages of a backbone and the image, trained from labels.

    Ψ = conv1×1(ReLU(BN(conv3×3([avgpool₂(f_1), f_2, avgpool₄(image)])))), f_1 and f_2 the
    backbone's outputs at strides 2 and 4 (MobileNetV2's layer1 and layer2: 16 and 24
    channels); the image at stride 4 carries colour. Stages past the deepest output are
    removed from the backbone (never run). The loss is ``affinity_loss`` (the package's
    class-balanced NCA form, :class:`AffinityLoss`) on the labels at the grid.

    Args:
        backbone (dict): A backbone whose ``out_indices`` give stride-2 and stride-4 outputs
            (mmseg's ``MobileNetV2`` with ``out_indices=(0, 1)``).
        in_channels (Sequence[int]): Channels of those outputs. Default: (16, 24).
        channels (int): Width of the 3×3 conv. Default: 64.
        embed_channels (int): Width d of Ψ. Default: 32.
        affinity_loss (dict): The loss on Ψ and the grid's labels. Default:
            ``dict(type='AffinityLoss')``.
        num_classes (int): Classes of the labels (for mmseg's interfaces). Default: 11.
        ignore_index (int): The void label. Default: 255.
        data_preprocessor (dict, optional): mmseg's ``SegDataPreProcessor`` config.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, backbone: ConfigType, *, in_channels: Sequence[int] = (16, 24),
                 channels: int = 64, embed_channels: int = 32,
                 affinity_loss: ConfigType = dict(type='AffinityLoss'),
                 num_classes: int = 11, ignore_index: int = 255,
                 norm_cfg: ConfigType = dict(type='BN'),
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        names = getattr(self.backbone, 'layers', None)
        out = getattr(self.backbone, 'out_indices', None)
        if names is not None and out is not None:  # stages past the last output never run
            for name in names[max(out) + 1:]:
                delattr(self.backbone, name)
            self.backbone.layers = names[:max(out) + 1]
        self.fuse = ConvModule(sum(in_channels) + 3, channels, 3, padding=1, norm_cfg=norm_cfg)
        self.psi = nn.Conv2d(channels, embed_channels, 1)
        self.affinity_loss = MODELS.build(affinity_loss)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.align_corners = False

    def embed(self, inputs: Tensor) -> Tensor:
        """Ψ on the stride-4 grid: (B, 3, H, W) normalised -> (B, d, ceil(H/4), ceil(W/4))."""
        f1, f2 = self.backbone(inputs)[-2:]  # (B, 16, H/2, W/2), (B, 24, H/4, W/4)
        grid = f2.shape[-2:]
        levels = [F.adaptive_avg_pool2d(f1, grid), f2, F.adaptive_avg_pool2d(inputs, grid)]
        return self.psi(self.fuse(torch.cat(levels, dim=1)))  # (B, d, h, w)

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        return [self.embed(inputs)]

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        return self.embed(inputs)

    def _forward(self, inputs: Tensor, data_samples=None) -> Tensor:
        return self.embed(inputs)

    def loss(self, inputs: Tensor, data_samples) -> dict:
        """The affinity loss of Ψ (B, N, d) against the labels at the grid (nearest)."""
        psi = self.embed(inputs)  # (B, d, h, w)
        gt = torch.stack([s.gt_sem_seg.data for s in data_samples])  # (B, 1, H, W)
        labels = grid_labels(gt, tuple(psi.shape[-2:]))  # (B, N)
        return {self.affinity_loss.loss_name: self.affinity_loss(
            psi.flatten(2).transpose(1, 2), labels)}

    def predict(self, inputs: Tensor, data_samples=None):
        raise NotImplementedError(
            'AffinityRefiner predicts no classes: it post-processes another model\'s '
            "(model.type='PostProcessedSegmentor' with post_processor=dict(type='Refiner', "
            '...)); train it with tools/train.py, which runs no validation for it.')

