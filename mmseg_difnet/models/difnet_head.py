# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""DifNet's decode head (Jiang et al., "DifNet: Semantic Segmentation by Diffusion Networks",
NeurIPS 2018, https://arxiv.org/abs/1805.08015).

Shapes: B batch, K classes, (h, w) the score map's grid (output stride 8), g = grid_scale,
T walks, N = (h·g)(w·g) diffusion nodes.
"""
from typing import Dict, List, NamedTuple, Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType
from torch import Tensor

from .deeplabv2_head import DeepLabV2Head
from .random_walk import build_reference_norm, transition_matrix


class ImportanceMap(nn.Sequential):
    """H of Sec. 4: x (B, K, h, w) -> M (B, 1, h, w) in (0, 1).

    BN(K) - ReLU - conv5×5(K→8) - BN - ReLU - conv5×5(8→4) - BN - ReLU - conv5×5(4→1) -
    sigmoid; no conv has a bias and each keeps PyTorch's default init, each norm's γ starts
    U(0, 1) (``norm_weight_init='uniform'``), as the reference's ``Mask`` (sdujump/DifNet
    model_difnet.py:16-32, which no init loop reaches; PyTorch 0.4's defaults).
    """

    def __init__(self, num_classes: int, norm_cfg: ConfigType,
                 norm_weight_init: str = 'uniform') -> None:
        layers: List[nn.Module] = []
        for c_in, c_out in zip((num_classes, 8, 4), (8, 4, 1)):
            layers += [build_reference_norm(norm_cfg, c_in, norm_weight_init),
                       nn.ReLU(inplace=True),
                       nn.Conv2d(c_in, c_out, 5, padding=2, bias=False)]
        super().__init__(*layers, nn.Sigmoid())


class DiffusionTrace(NamedTuple):
    """Every intermediate of one DifNet forward pass (the paper's Fig. 2 and 4)."""
    x: Tensor  # score map (B, K, h, w)
    M: Tensor  # importance map (B, 1, h, w)
    s: Tensor  # seed M·x on the diffusion grid (B, K, h·g, w·g)
    y: List[Tensor]  # y_1 .. y_T, each (B, K, h·g, w·g); y[-1] is the output

    def stages(self) -> Dict[str, Tensor]:
        """x, s, y1 .. yT by name: the rows of the per-walk evaluation (Fig. 4)."""
        return {'x': self.x, 's': self.s, **{f'y{t + 1}': y for t, y in enumerate(self.y)}}

    @property
    def E(self) -> Tensor:
        """Influence map Σ_k |x_k| (Fig. 2): (B, 1, h, w)."""
        return self.x.abs().sum(1, keepdim=True)


@MODELS.register_module()
class DifNetHead(DeepLabV2Head):
    """DifNet: a DeepLabV2 seed, an importance map and a cascade of random walks.

    The method's steps are public methods, each in one place: :meth:`seed` (x, M, s),
    :meth:`diffuse` (y_0 = s, y_{t+1} = ⊕_t(f_t, y_t, s), Eq. 5), :meth:`trace` (both, every
    intermediate kept) and :meth:`transition_matrices` (P_t, formed only for inspection).
    ``forward`` returns y_T, the only output supervised.

    The seed branch's score map x comes from the ASPP-v2 classifier on the seed-backbone stage
    selected by ``in_index``. The similarity levels are the last ``len(sim_channels)`` entries
    of the inputs, after the seed backbone's stages: :class:`SimilarityBackbone`, in the neck
    slot, appends them.

    Args:
        sim_channels (Sequence[int]): Channels of each similarity level, one walk per level,
            in cascade order. Default: (3, 256, 512, 1024, 2048), the image and the four
            stages of a ResNet-50 (Fig. 1).
        walk_cfg (dict): Config of each walk; ``in_channels``, ``norm_cfg`` and
            ``norm_weight_init`` are filled in.
            Default: ``dict(type='RandomWalk')`` (Ψ width 64, μ = β = 0.5 at start).
        norm_weight_init (str): Initial γ of every norm of H and Ψ: 'uniform', U(0, 1) as
            the reference (PyTorch 0.4's default; README row 15), or 'ones' (PyTorch ≥ 1.0).
            Filled into ``walk_cfg``. Default: 'uniform'.
        grid_scale (int): The walks run on the score map's grid upsampled by this factor, the
            seed bilinearly upsampled to it: 2 diffuses at output stride 4. Default: 1, the
            paper's grid.
        **kwargs: Arguments of :class:`DeepLabV2Head` (``dilations=(1,), kernel_size=1``
            for the noASPP variant).
    """

    def __init__(self, *, sim_channels: Sequence[int] = (3, 256, 512, 1024, 2048),
                 walk_cfg: ConfigType = dict(type='RandomWalk'), grid_scale: int = 1,
                 norm_weight_init: str = 'uniform', **kwargs) -> None:
        super().__init__(**kwargs)
        if not (isinstance(grid_scale, int) and grid_scale >= 1):
            raise ValueError(f'DifNetHead: grid_scale={grid_scale!r} must be an integer >= 1.')
        self.grid_scale = grid_scale
        if len(sim_channels) == 0:
            raise ValueError('DifNetHead: sim_channels is empty; give one entry per walk, '
                             'e.g. (3, 256, 512, 1024, 2048) for a ResNet-50 similarity branch.')
        if not isinstance(self.in_index, int):
            raise ValueError(f'DifNetHead: in_index={self.in_index!r} must be one integer, '
                             'the seed-backbone stage that the ASPP-v2 classifies (3 for a '
                             'ResNet).')
        self.sim_channels = tuple(sim_channels)
        norm_cfg = self.norm_cfg or dict(type='BN')  # H and Ψ are normalised (Sec. 4)
        self.importance = ImportanceMap(self.out_channels, norm_cfg, norm_weight_init)
        self.walks = nn.ModuleList(
            MODELS.build(dict(walk_cfg, in_channels=c, norm_cfg=norm_cfg,
                              norm_weight_init=norm_weight_init))
            for c in self.sim_channels)

    @property
    def num_walks(self) -> int:
        return len(self.walks)

    def split_inputs(self, inputs: List[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """Seed-backbone stages and similarity levels f_0 .. f_{T-1} of the head's inputs."""
        n_seed = len(inputs) - self.num_walks
        if n_seed < 1:
            raise ValueError(
                f'DifNetHead: got {len(inputs)} feature maps, but {self.num_walks} similarity '
                'levels plus the seed stages are needed. Put a SimilarityBackbone in the neck '
                "slot of a 'DifNetEncoderDecoder' segmentor.")
        if not 0 <= self.in_index < n_seed:
            raise ValueError(
                f'DifNetHead: decode_head.in_index={self.in_index} does not select one of the '
                f'{n_seed} seed-backbone stages (0..{n_seed - 1}); the {self.num_walks} entries '
                'after them are the similarity levels, and a seed read from them would leave '
                f'the seed backbone untrained. Use in_index={n_seed - 1} (the last stage).')
        return inputs[:n_seed], inputs[n_seed:]

    def seed(self, inputs: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        """x = ASPP-v2(stage ``in_index``), M = H(x), s = M·x (Sec. 4).

        Returns x (B, K, h, w), M (B, 1, h, w) and s (B, K, h·g, w·g).
        """
        stages, _ = self.split_inputs(inputs)
        x = self.cls_seg(stages[self.in_index])  # score map (B, K, h, w)
        M = self.importance(x)  # (B, 1, h, w)
        s = M * x  # (B, K, h, w)
        if self.grid_scale > 1:  # a finer diffusion grid: (B, K, h·g, w·g)
            s = resize(s, scale_factor=self.grid_scale, mode='bilinear',
                       align_corners=self.align_corners)
        return x, M, s

    def diffuse(self, s: Tensor, levels: Sequence[Tensor]) -> List[Tensor]:
        """The cascade y_0 = s, y_{t+1} = ⊕_t(f_t, y_t, s) (Eq. 5): y_1 .. y_T, each shaped
        as s. ``levels`` are f_0 .. f_{T-1}, any spatial sizes."""
        if len(levels) != self.num_walks:
            raise ValueError(f'DifNetHead: {len(levels)} similarity levels for '
                             f'{self.num_walks} walks.')
        ys, y = [], s
        for walk, f in zip(self.walks, levels):
            y = walk(f, y, s)  # (B, K, h·g, w·g)
            ys.append(y)
        return ys

    def trace(self, inputs: List[Tensor]) -> DiffusionTrace:
        """One forward pass keeping every intermediate (x, M, s, y_1 .. y_T)."""
        x, M, s = self.seed(inputs)
        return DiffusionTrace(x, M, s, self.diffuse(s, self.split_inputs(inputs)[1]))

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Final output y_T of the cascade, (B, K, h·g, w·g)."""
        return self.trace(inputs).y[-1]

    def transition_matrices(self, levels: Sequence[Tensor], grid: Tuple[int, int]
                            ) -> List[Tensor]:
        """P_t = softmax(Ψ_t Ψ_tᵀ) of every walk on ``grid`` (the diffusion grid, that of s),
        each (B, N, N), rows summing to 1: for inspection (Fig. 3); the walks never form P."""
        return [transition_matrix(walk.embed(f, grid)) for walk, f in zip(self.walks, levels)]

    def walk_parameters(self) -> Tuple[Tensor, Tensor]:
        """μ_t and β_t of every walk (Table 3), each (T,)."""
        return (torch.stack([w.mu for w in self.walks]),
                torch.stack([w.beta for w in self.walks]))
