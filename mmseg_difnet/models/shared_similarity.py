# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Similarity levels without a second backbone: the image and the segmentor's own stages."""
from typing import List, Optional, Sequence

from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor


@MODELS.register_module()
class SharedSimilarity(BaseModule):
    """The walks' similarity levels taken from the image and the seed backbone's own stages.

    Beyond the paper: DifNet's similarity branch is a second backbone (Fig. 1a,
    :class:`SimilarityBackbone`), whose features are shaped only by the walks. Here the walks
    read the stages the seed head reads: no second backbone (its parameters and FLOPs:
    docs/studies/refinement.md), but the stages serve two tasks, classification and pixel
    affinity, and the walks' gradients reach the seed backbone. It sits in the neck slot of a
    :class:`DifNetEncoderDecoder`, which hands it the image.

    Args:
        levels (Sequence[int]): Levels that feed walks, in cascade order: 0 is the
            (normalised) image, 1..S the backbone's outputs. Default: (0, 1, 2, 3, 4).
        init_cfg (dict | list[dict], optional): Unused (no parameters); for the neck slot's
            interface. Default: None.
    """

    def __init__(self, *, levels: Sequence[int] = (0, 1, 2, 3, 4),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(levels) == 0:
            raise ValueError('SharedSimilarity: levels is empty; (0, 1, 2, 3, 4) are the '
                             'image and four backbone stages.')
        self.levels = tuple(levels)

    def forward(self, seed_feats: Sequence[Tensor], image: Optional[Tensor] = None
                ) -> List[Tensor]:
        """Stages (B, C_i, h_i, w_i) and image (B, 3, H, W) -> stages + selected levels."""
        if image is None:
            raise TypeError(
                'SharedSimilarity needs the input image, which a plain EncoderDecoder does '
                "not give to its neck: set model.type='DifNetEncoderDecoder' in the config.")
        all_levels = [image, *seed_feats]
        bad = [i for i in self.levels if not 0 <= i < len(all_levels)]
        if bad:
            raise ValueError(
                f'SharedSimilarity: levels {bad} (neck.levels) do not exist: the image and '
                f'the {len(seed_feats)} backbone outputs give levels 0..{len(seed_feats)}.')
        return [*seed_feats, *(all_levels[i] for i in self.levels)]
