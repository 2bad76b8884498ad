# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""DifNet's similarity branch, configured in the segmentor's ``neck`` slot."""
from typing import List, Optional, Sequence

from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor


@MODELS.register_module()
class SimilarityBackbone(BaseModule):
    """The similarity branch of DifNet (Fig. 1a): a second backbone whose levels feed the walks.

    Level 0 is the (normalised) input image, levels 1..S are the backbone's outputs (the four
    ResNet stages). The branch sits in the neck slot: it receives the seed backbone's features
    and the image from :class:`DifNetEncoderDecoder`, and returns the seed features followed by
    the selected levels, so that ``in_index`` of the decode and auxiliary heads keeps meaning
    the seed backbone's stages.

    Args:
        backbone (dict): Config of the backbone, any mmseg backbone or an mmpretrain one through
            the registry scope (``type='mmpretrain.ResNet'``); it must return every stage
            (``out_indices=(0, 1, 2, 3)`` for a ResNet).
        levels (Sequence[int]): Levels that feed walks, in cascade order. Default:
            (0, 1, 2, 3, 4), the paper's five walks; (0, 2, 4) is its ablation without
            walks 2 and 4 (Sec. 5.3).
        init_cfg (dict | list[dict], optional): Initialisation config. Default: None; give the
            pretrained weights in ``backbone.init_cfg``.
    """

    def __init__(self, backbone: ConfigType, *, levels: Sequence[int] = (0, 1, 2, 3, 4),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(levels) == 0:
            raise ValueError('SimilarityBackbone: levels is empty; (0, 1, 2, 3, 4) are the '
                             "paper's five levels (the image and four stages).")
        self.backbone = MODELS.build(backbone)
        self.levels = tuple(levels)

    def similarity_levels(self, image: Tensor) -> List[Tensor]:
        """The selected levels f_t for image (B, 3, H, W): the image and/or stage outputs."""
        stages = self.backbone(image)
        all_levels = [image, *stages]
        bad = [i for i in self.levels if not 0 <= i < len(all_levels)]
        if bad:
            raise ValueError(
                f'SimilarityBackbone: levels {bad} (neck.levels) do not exist: the image and '
                f'the {len(stages)} outputs of neck.backbone give levels 0..{len(stages)}. '
                'Make the backbone return every stage (out_indices=(0, 1, 2, 3)).')
        return [all_levels[i] for i in self.levels]

    def forward(self, seed_feats: Sequence[Tensor], image: Optional[Tensor] = None
                ) -> List[Tensor]:
        """Seed features (B, C_i, h_i, w_i) and image (B, 3, H, W) -> seed features + levels."""
        if image is None:
            raise TypeError(
                'SimilarityBackbone needs the input image, which a plain EncoderDecoder does '
                "not give to its neck: set model.type='DifNetEncoderDecoder' in the config.")
        return [*seed_feats, *self.similarity_levels(image)]
