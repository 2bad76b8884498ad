# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""DifNet's similarity branch, configured in the segmentor's ``neck`` slot: a second backbone
(the paper's), or the segmentor's own stages (:class:`SharedSimilarity`)."""
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
        backbone (dict, optional): Config of the backbone, any mmseg backbone or an mmpretrain
            one through the registry scope (``type='mmpretrain.ResNet'``); it must return every
            stage (``out_indices=(0, 1, 2, 3)`` for a ResNet). None: the levels are the seed
            backbone's own stages (:class:`SharedSimilarity`).
        levels (Sequence[int]): Levels that feed walks, in cascade order. Default:
            (0, 1, 2, 3, 4), the paper's five walks; (0, 2, 4) is its ablation without
            walks 2 and 4 (Sec. 5.3).
        init_cfg (dict | list[dict], optional): Initialisation config. Default: None; give the
            pretrained weights in ``backbone.init_cfg``.
    """

    def __init__(self, backbone: Optional[ConfigType], *,
                 levels: Sequence[int] = (0, 1, 2, 3, 4),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(levels) == 0:
            raise ValueError(f'{type(self).__name__}: levels is empty; (0, 1, 2, 3, 4) are '
                             "the paper's five levels (the image and four stages).")
        self.backbone = None if backbone is None else MODELS.build(backbone)
        self.levels = tuple(levels)

    def similarity_levels(self, image: Tensor,
                          seed_feats: Optional[Sequence[Tensor]] = None) -> List[Tensor]:
        """The selected levels f_t for image (B, 3, H, W): the image and/or the stage outputs
        of the second backbone (or, without one, ``seed_feats``)."""
        stages = seed_feats if self.backbone is None else self.backbone(image)
        all_levels = [image, *stages]
        bad = [i for i in self.levels if not 0 <= i < len(all_levels)]
        if bad:
            source = ('backbone outputs' if self.backbone is None else 'outputs of '
                      'neck.backbone (make it return every stage: out_indices=(0, 1, 2, 3))')
            raise ValueError(
                f'{type(self).__name__}: levels {bad} (neck.levels) do not exist: the image '
                f'and the {len(stages)} {source} give levels 0..{len(stages)}.')
        return [all_levels[i] for i in self.levels]

    def forward(self, seed_feats: Sequence[Tensor], image: Optional[Tensor] = None
                ) -> List[Tensor]:
        """Seed features (B, C_i, h_i, w_i) and image (B, 3, H, W) -> seed features + levels."""
        if image is None:
            raise TypeError(
                f'{type(self).__name__} needs the input image, which a plain EncoderDecoder '
                "does not give to its neck: set model.type='DifNetEncoderDecoder' in the config.")
        return [*seed_feats, *self.similarity_levels(image, seed_feats)]


@MODELS.register_module()
class SharedSimilarity(SimilarityBackbone):
    """The walks' similarity levels taken from the image and the seed backbone's own stages.

    Beyond the paper: DifNet's similarity branch is a second backbone (Fig. 1a,
    :class:`SimilarityBackbone`), whose features are shaped only by the walks. Here the walks
    read the stages the seed head reads: no second backbone (its parameters and FLOPs:
    docs/studies/refinement.md), but the stages serve two tasks, classification and pixel
    affinity, and the walks' gradients reach the seed backbone. :class:`SimilarityBackbone`
    without a backbone.

    Args:
        levels (Sequence[int]): Levels that feed walks, in cascade order: 0 is the
            (normalised) image, 1..S the backbone's outputs. Default: (0, 1, 2, 3, 4).
        init_cfg (dict | list[dict], optional): Unused (no parameters). Default: None.
    """

    def __init__(self, *, levels: Sequence[int] = (0, 1, 2, 3, 4),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(None, levels=levels, init_cfg=init_cfg)
