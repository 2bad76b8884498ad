# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""DeepLabV2's classifier (Chen et al., TPAMI 2018), which mmseg does not have.

mmseg's ``ASPPHead`` is DeepLabV3's ASPP (image pooling, BN, a projection); DeepLabV2's ASPP
is four parallel dilated 3×3 convs that map the features straight to K classes and are summed.
"""
import math
from typing import List, Sequence

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor


class ASPPv2(nn.ModuleList):
    """Σ_r conv3×3_{dilation r}(x): (B, C, h, w) -> (B, K, h, w), each branch with bias.

    With one dilation and ``kernel_size=1`` it is the single plain classifier conv of the
    paper's noASPP variant.

    Init as the reference's classifier actually gets it: its N(0, 0.01) (sdujump/DifNet
    model_difnet.py:151-152) is overwritten by the ResNet's init loop (model_difnet.py:181-184),
    so the weights are N(0, √(2 / (k²·K))) (≈ 0.103 for 3×3 convs to 21 classes) and the
    biases keep PyTorch's default U(±1/√(k²·C)).
    """

    def __init__(self, in_channels: int, num_classes: int, dilations: Sequence[int],
                 kernel_size: int = 3) -> None:
        super().__init__(
            nn.Conv2d(in_channels, num_classes, kernel_size, padding=d * (kernel_size // 2),
                      dilation=d, bias=True) for d in dilations)
        for conv in self:
            nn.init.normal_(conv.weight, 0.0, math.sqrt(2.0 / (kernel_size**2 * num_classes)))

    def forward(self, x: Tensor) -> Tensor:
        return sum(branch(x) for branch in self)


@MODELS.register_module()
class DeepLabV2Head(BaseDecodeHead):
    """DeepLabV2 classifier: ASPP-v2 on the last backbone stage.

    This is the "Sim-Deeplab" baseline of DifNet: atrous ResNet + ASPP-v2, without
    multi-scale inputs, CRF or COCO. The ASPP-v2 is the head's classifier, so it takes the
    place of ``conv_seg``; it initialises itself as the reference (:class:`ASPPv2`: σ ≈ 0.103
    for 21 classes, not ``conv_seg``'s usual N(0, 0.01), so ``init_cfg`` defaults to None);
    ``channels`` is the width of the features it classifies, i.e. ``in_channels``.

    Args:
        dilations (Sequence[int]): Dilations of the parallel branches. Default: (6, 12, 18, 24).
        kernel_size (int): Kernel size of every branch; 3 for ASPP-v2, 1 (with one dilation)
            for the noASPP variant. Default: 3.
        **kwargs: Arguments of :class:`BaseDecodeHead`. ``channels`` defaults to
            ``in_channels`` and ``dropout_ratio`` to 0 (DeepLabV2 has no dropout there).
    """

    def __init__(self, *, dilations: Sequence[int] = (6, 12, 18, 24), kernel_size: int = 3,
                 **kwargs) -> None:
        kwargs.setdefault('channels', kwargs.get('in_channels'))
        kwargs.setdefault('dropout_ratio', 0.0)
        kwargs.setdefault('init_cfg', None)  # ASPPv2 initialises itself (the reference's init)
        if kwargs['channels'] != kwargs.get('in_channels'):
            raise ValueError(
                f'{type(self).__name__}: channels={kwargs["channels"]} must equal '
                f'in_channels={kwargs.get("in_channels")}: the ASPP-v2 classifies the '
                'backbone features directly. Remove `channels` from the head config.')
        if len(dilations) == 0:
            raise ValueError(f'{type(self).__name__}: dilations={dilations} is empty; use '
                             '(6, 12, 18, 24) for ASPP-v2 or (1,) with kernel_size=1 for noASPP.')
        super().__init__(**kwargs)
        self.conv_seg = ASPPv2(self.channels, self.out_channels, dilations, kernel_size)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Score map x: (B, K, h, w) from the stage selected by ``in_index``."""
        return self.cls_seg(self._transform_inputs(inputs))
