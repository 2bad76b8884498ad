# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""DifNet's decode head (Jiang et al., "DifNet: Semantic Segmentation by Diffusion Networks",
NeurIPS 2018, https://arxiv.org/abs/1805.08015): the diffusion of :class:`DiffusionHead`
with DeepLabV2's ASPP-v2 classifier as the seed.

Shapes: B batch, K classes, (h, w) the score map's grid (output stride 8).
"""
from typing import List

from mmseg.registry import MODELS
from torch import Tensor

from .deeplabv2_head import DeepLabV2Head
from .diffusion_head import DiffusionHead


@MODELS.register_module()
class DifNetHead(DiffusionHead, DeepLabV2Head):
    """DifNet: a DeepLabV2 seed, an importance map and a cascade of random walks.

    The seed branch's score map x comes from the ASPP-v2 classifier (``conv_seg``, as in
    :class:`DeepLabV2Head`, so a DeepLabV2 checkpoint's head keys are this head's) on the
    seed-backbone stage selected by ``in_index``; M, s, the walks, the trace and the walk
    parameters are :class:`DiffusionHead`'s. The similarity levels are the last
    ``len(sim_channels)`` entries of the inputs, after the seed backbone's stages:
    :class:`SimilarityBackbone`, in the neck slot, appends them.

    Args:
        sim_channels, walk_cfg, norm_weight_init, grid_scale: As :class:`DiffusionHead`.
        **kwargs: Arguments of :class:`DeepLabV2Head` (``dilations=(1,), kernel_size=1``
            for the noASPP variant).
    """

    def __init__(self, **kwargs) -> None:
        if 'seed_head' in kwargs:
            raise ValueError("DifNetHead: its seed is the ASPP-v2 classifier; for another "
                             "seed head use type='DiffusionHead' with seed_head=dict(...).")
        in_index = kwargs.get('in_index', -1)
        if not isinstance(in_index, int):  # before mmseg's bare assertion on it
            raise ValueError(f'DifNetHead: decode_head.in_index={in_index!r} must be one '
                             'integer, the seed-backbone stage that the ASPP-v2 classifies (3 '
                             'for a ResNet).')
        super().__init__(**kwargs)

    def score_map(self, stages: List[Tensor]) -> Tensor:
        """x = ASPP-v2(stage ``in_index``): (B, K, h, w)."""
        return self.cls_seg(stages[self.in_index])
