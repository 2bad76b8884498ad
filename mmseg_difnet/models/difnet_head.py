# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""DifNet's decode head (Jiang et al., "DifNet: Semantic Segmentation by Diffusion Networks",
NeurIPS 2018, https://arxiv.org/abs/1805.08015).

Shapes: B batch, K classes, (h, w) the score map's grid (output stride 8), T walks.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType
from torch import Tensor

from .deeplabv2_head import DeepLabV2Head


class ImportanceMap(nn.Sequential):
    """H of Sec. 4: x (B, K, h, w) -> M (B, 1, h, w) in (0, 1).

    BN(K) - ReLU - conv5×5(K→8, no bias) - BN - ReLU - conv5×5(8→4) - BN - ReLU -
    conv5×5(4→1) - sigmoid, as in the authors' reference code.
    """

    def __init__(self, num_classes: int, norm_cfg: ConfigType) -> None:
        widths = (num_classes, 8, 4, 1)
        super().__init__(*(
            ConvModule(c_in, c_out, 5, padding=2, bias=i > 0, norm_cfg=norm_cfg,
                       act_cfg=dict(type='ReLU'), order=('norm', 'act', 'conv'))
            for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:]))),
            nn.Sigmoid())


@MODELS.register_module()
class DifNetHead(DeepLabV2Head):
    """DifNet: a DeepLabV2 seed, an importance map and a cascade of random walks.

    The seed branch's score map x comes from the ASPP-v2 classifier on the stage selected by
    ``in_index``; M = H(x) and the seed s = M x (Sec. 4). Then ``y_0 = s`` and
    ``y_{t+1} = ⊕_t(f_t, y_t, s)`` (Eq. 5) for each similarity level f_t; y_T is the output,
    the only one supervised.

    The similarity levels are the last ``len(sim_channels)`` entries of the inputs, after the
    seed backbone's stages: :class:`SimilarityBackbone`, in the neck slot, appends them.

    Args:
        sim_channels (Sequence[int]): Channels of each similarity level, one walk per level,
            in cascade order. Default: (3, 256, 512, 1024, 2048), the image and the four
            stages of a ResNet-50 (Fig. 1).
        walk_cfg (dict): Config of each walk; ``in_channels`` and ``norm_cfg`` are filled in.
            Default: ``dict(type='RandomWalk')`` (Ψ width 64, μ = β = 0.5 at start).
        grid_scale (int): The walks run on the score map's grid upsampled by this factor, the
            seed bilinearly upsampled to it: 2 diffuses at output stride 4. Default: 1, the
            paper's grid.
        **kwargs: Arguments of :class:`DeepLabV2Head` (``dilations=(1,), kernel_size=1``
            for the noASPP variant).
    """

    def __init__(self, *, sim_channels: Sequence[int] = (3, 256, 512, 1024, 2048),
                 walk_cfg: ConfigType = dict(type='RandomWalk'), grid_scale: int = 1,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if not (isinstance(grid_scale, int) and grid_scale >= 1):
            raise ValueError(f'DifNetHead: grid_scale={grid_scale!r} must be an integer >= 1.')
        self.grid_scale = grid_scale
        if len(sim_channels) == 0:
            raise ValueError('DifNetHead: sim_channels is empty; give one entry per walk, '
                             'e.g. (3, 256, 512, 1024, 2048) for a ResNet-50 similarity branch.')
        self.sim_channels = tuple(sim_channels)
        norm_cfg = self.norm_cfg or dict(type='BN')  # H and Ψ are normalised (Sec. 4)
        self.importance = ImportanceMap(self.out_channels, norm_cfg)
        self.walks = nn.ModuleList(
            MODELS.build(dict(walk_cfg, in_channels=c, norm_cfg=norm_cfg))
            for c in self.sim_channels)

    @property
    def num_walks(self) -> int:
        return len(self.walks)

    def _diffuse(self, inputs: List[Tensor], record: Optional[Dict] = None) -> Tensor:
        if len(inputs) < self.num_walks + 1:
            raise ValueError(
                f'DifNetHead: got {len(inputs)} feature maps, but {self.num_walks} similarity '
                'levels plus the seed stages are needed. Put a SimilarityBackbone in the neck '
                "slot of a 'DifNetEncoderDecoder' segmentor.")
        x = super().forward(inputs)  # score map (B, K, h, w)
        M = self.importance(x)  # (B, 1, h, w)
        s = M * x  # seed (B, K, h, w)
        if self.grid_scale > 1:  # a finer diffusion grid: (B, K, h·g, w·g)
            s = resize(s, scale_factor=self.grid_scale, mode='bilinear',
                       align_corners=self.align_corners)
        y = s
        ys = []
        for walk, f in zip(self.walks, inputs[-self.num_walks:]):
            y = walk(f, y, s)  # (B, K, h, w)
            if record is not None:
                ys.append(y)
        if record is not None:
            record.update(
                x=x, E=x.abs().sum(1, keepdim=True), M=M, s=s, y=ys,
                mu=torch.stack([walk.mu for walk in self.walks]),
                beta=torch.stack([walk.beta for walk in self.walks]))
        return y

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Final output y_T of the cascade, (B, K, h, w)."""
        return self._diffuse(inputs)

    def forward_intermediates(self, inputs: List[Tensor]) -> Dict[str, object]:
        """Every intermediate of one forward pass, for the study tools (Fig. 2-4, Table 3).

        Returns:
            dict: ``x`` score map (B, K, h, w); ``E`` influence map Σ_k |x_k| (B, 1, h, w);
            ``M`` importance map (B, 1, h, w); ``s`` seed and ``y`` list of the T walk outputs,
            (B, K, h·g, w·g) with g = ``grid_scale``; ``mu``, ``beta`` (T,).
        """
        record: Dict[str, object] = {}
        self._diffuse(inputs, record)
        return record
