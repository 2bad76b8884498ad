# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""DifNet's diffusion (Jiang et al., NeurIPS 2018, https://arxiv.org/abs/1805.08015, Sec. 4)
behind any mmseg decode head: the seed head's logits are the score map x, then M = H(x),
s = M·x and the cascade of random walks.

Shapes: B batch, K classes, (h, w) the score map's grid (the seed head's output), g =
grid_scale, T walks, N = (h·g)(w·g) diffusion nodes.
"""
import copy
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.models.decode_heads.cascade_decode_head import BaseCascadeDecodeHead
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType
from torch import Tensor

from .label_affinity import grid_labels, sample_grid_labels, similarity_stats
from .norms import build_reference_norm
from .propagation import transition_matrix

# Arguments of BaseDecodeHead that the outer head takes from its seed head when not given:
# the seed head's classes, loss and label handling are the plain model's.
_FROM_SEED = ('num_classes', 'out_channels', 'threshold', 'align_corners', 'ignore_index',
              'loss_decode', 'in_channels', 'channels', 'in_index', 'input_transform')


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
    """Every intermediate of one diffusion forward pass (the paper's Fig. 2 and 4)."""
    x: Tensor  # score map (B, K, h, w)
    M: Tensor  # importance map (B, 1, h, w)
    s: Tensor  # seed M·x on the diffusion grid (B, K, h·g, w·g)
    y: List[Tensor]  # y_1 .. y_T, each (B, K, h·g, w·g)
    psi: Optional[List[Tensor]] = None  # Ψ_1 .. Ψ_T on the diffusion grid, each (B, N, d)
    levels: Optional[List[Tensor]] = None  # the similarity levels f_0 .. f_{T-1} it walked on

    @property
    def out(self) -> Tensor:
        """The head's output y_T (B, K, h·g, w·g)."""
        return self.y[-1]

    def stages(self) -> Dict[str, Tensor]:
        """x, s, y1 .. yT by name: the rows of the per-walk evaluation (Fig. 4)."""
        return {'x': self.x, 's': self.s, **{f'y{t + 1}': y for t, y in enumerate(self.y)}}

    @property
    def E(self) -> Tensor:
        """Influence map Σ_k |x_k| (Fig. 2): (B, 1, h, w)."""
        return self.x.abs().sum(1, keepdim=True)


SUPPORTED = ('a decode head that maps the backbone stages to a score map in one pass (an mmseg '
             'BaseDecodeHead: FCNHead, PSPHead, ASPPHead, DepthwiseSeparableASPPHead, '
             'SegformerHead, UPerHead, ...; docs/diffusion_for_any_model.md)')


def check_seed_head_type(seed_head: ConfigType, name: str) -> None:
    """A ``ValueError`` naming what is supported when ``seed_head`` cannot give the score map
    x: a cascade head (OCRNet's, PointRend's: they need the previous stage's output) or a
    head that is no ``BaseDecodeHead`` (MaskFormer, Mask2Former: mask classification)."""
    t = seed_head.get('type') if isinstance(seed_head, dict) else None
    cls = MODELS.get(t) if isinstance(t, str) else t
    if cls is None:
        raise ValueError(f'{name}: decode_head.seed_head.type={t!r} is not registered in '
                         "mmseg's MODELS (a head of another package, e.g. mmdet's for "
                         'Mask2Former? add it to custom_imports). Diffusion needs ' + SUPPORTED
                         + '.')
    why = ('is a cascade head (it needs the previous stage\'s output: OCRNet, PointRend)'
           if issubclass(cls, BaseCascadeDecodeHead) else
           'is no BaseDecodeHead (mask classification: MaskFormer, Mask2Former)'
           if not issubclass(cls, BaseDecodeHead) else None)
    if why:
        raise ValueError(f'{name}: decode_head.seed_head is a {cls.__name__}, which {why}. '
                         'Diffusion needs ' + SUPPORTED + '.')


def _indices(in_index) -> Tuple[int, ...]:
    return tuple(in_index) if isinstance(in_index, (list, tuple)) else (in_index,)


@MODELS.register_module()
class DiffusionHead(BaseDecodeHead):
    """Any mmseg decode head refined by DifNet's diffusion (Sec. 4, Eq. 4-5).

    The seed head (``seed_head``, e.g. DeepLabV3+'s ``DepthwiseSeparableASPPHead``,
    ``PSPHead``, ``FCNHead``, ``SegformerHead``) reads the segmentor's backbone stages as it
    would in the plain model and gives the score map x; then M = H(x), s = M·x, and T walks
    diffuse s along the similarity levels f_0 .. f_{T-1}. Only the output y_T is supervised
    (the paper's). The steps are public, each in one place: :meth:`score_map` (x),
    :meth:`seed` (x, M, s), :meth:`cascade` (Eq. 5), :meth:`trace` (every intermediate, the
    levels included) and
    :meth:`transition_matrices` (P_t of a trace, for inspection). :class:`DifNetHead` is the
    case whose seed is DeepLabV2's ASPP-v2 classifier.

    The inputs are the backbone stages followed by the ``len(sim_channels)`` similarity levels,
    which the neck appends: :class:`SimilarityBackbone` (a second backbone, the paper's design)
    or :class:`SharedSimilarity` (the image and the backbone's own stages).

    Args:
        seed_head (dict): Config of the mmseg decode head that gives x. Its ``in_index``
            selects backbone stages as in the plain model. ``num_classes``, ``out_channels``,
            ``threshold`` and ``align_corners`` given here are filled into it; these and
            ``ignore_index``, ``loss_decode``, ``in_channels``, ``channels`` and ``in_index``
            of this head default to the seed head's (the loss is the plain model's, applied
            to the output; the seed head's own ``loss_decode`` is unused).
        sim_channels (Sequence[int]): Channels of each similarity level, one walk per level,
            in cascade order. Default: (3, 256, 512, 1024, 2048), the image and the four
            stages of a ResNet-50 (Fig. 1).
        walk_cfg (dict): Config of each walk; ``in_channels``, ``norm_cfg`` and
            ``norm_weight_init`` are filled in. Default: ``dict(type='RandomWalk')``
            (Ψ width 64, μ = β = 0.5 at start).
        grid_scale (int): The walks run on the score map's grid upsampled by this factor, the
            seed bilinearly upsampled to it. Default: 1, the paper's grid.
        norm_weight_init (str): Initial γ of every norm of H and Ψ: 'uniform', U(0, 1) as
            the reference (PyTorch 0.4's default; docs/reference_differences.md row 15), or
            'ones'. Default: 'uniform'.
        affinity_loss (dict, optional): Beyond the paper (docs/studies/similarity.md): a
            loss on the walks' P_t from the labels, e.g. ``dict(type='AffinityLoss',
            loss_weight=1.0)`` (:class:`AffinityLoss`), added to the segmentation loss as
            ``loss_affinity<t>`` for each walk t of ``affinity_walks``. None: only the
            output is supervised (the paper). Default: None.
        affinity_walks (Sequence[int], optional): The walks (0-based) whose P_t the
            affinity loss teaches. Default: None, every walk.
        **kwargs: Arguments of ``BaseDecodeHead``; ``norm_cfg`` is that of H and Ψ (BN when
            None).
    """

    def __init__(self, *, seed_head: Optional[ConfigType] = None,
                 sim_channels: Sequence[int] = (3, 256, 512, 1024, 2048),
                 walk_cfg: ConfigType = dict(type='RandomWalk'), grid_scale: int = 1,
                 norm_weight_init: str = 'uniform',
                 affinity_loss: Optional[ConfigType] = None,
                 affinity_walks: Optional[Sequence[int]] = None, **kwargs) -> None:
        name = type(self).__name__
        if 'gate_init' in kwargs:  # a config of an earlier version
            raise ValueError(
                f'{name}: decode_head.gate_init={kwargs["gate_init"]!r}: the refinement mode was '
                'removed (it did not pay in three studies: docs/diffusion_for_any_model.md). '
                'Drop gate_init from the config; the output is the paper\'s y_T. Its configs '
                'and results are at commit f44b197.')
        seed_cfg = None
        if seed_head is not None:
            check_seed_head_type(seed_head, name)
            seed_cfg = self._seed_head_cfg(seed_head, kwargs)
        elif type(self).score_map is DiffusionHead.score_map:
            raise ValueError(f"{name}: decode_head.seed_head is missing: give the config of "
                             "the mmseg decode head that predicts the score map, e.g. "
                             "seed_head=dict(type='PSPHead', in_channels=2048, ...).")
        super().__init__(**kwargs)
        if seed_cfg is not None:
            del self.conv_seg  # the seed head has its own classifier
            self.seed_head = MODELS.build(seed_cfg)
            if self.seed_head.out_channels != self.out_channels:
                raise ValueError(
                    f'{name}: the seed head predicts {self.seed_head.out_channels} channels '
                    f'but decode_head.num_classes={self.num_classes}: drop num_classes from '
                    'decode_head (it is the seed head\'s) or make them equal.')
        if not (isinstance(grid_scale, int) and grid_scale >= 1):
            raise ValueError(f'{name}: grid_scale={grid_scale!r} must be an integer >= 1.')
        self.grid_scale = grid_scale
        if len(sim_channels) == 0:
            raise ValueError(f'{name}: sim_channels is empty; give one entry per walk, '
                             'e.g. (3, 256, 512, 1024, 2048) for a ResNet-50 similarity branch.')
        self.sim_channels = tuple(sim_channels)
        norm_cfg = self.norm_cfg or dict(type='BN')  # H and Ψ are normalised (Sec. 4)
        self.importance = ImportanceMap(self.out_channels, norm_cfg, norm_weight_init)
        self.walks = nn.ModuleList(
            MODELS.build(dict(walk_cfg, in_channels=c, norm_cfg=norm_cfg,
                              norm_weight_init=norm_weight_init))
            for c in self.sim_channels)
        self.affinity_loss = None
        if affinity_loss is not None:
            self.affinity_loss = MODELS.build(
                dict(affinity_loss, ignore_index=self.ignore_index))
        walks = tuple(range(self.num_walks)) if affinity_walks is None else tuple(
            affinity_walks)
        bad = [t for t in walks if not (isinstance(t, int) and 0 <= t < self.num_walks)]
        if bad or not walks:
            raise ValueError(f'{name}: affinity_walks={affinity_walks!r} must name walks '
                             f'0..{self.num_walks - 1} (0-based; one per similarity level), '
                             f'e.g. {list(range(self.num_walks))} (outside: {bad}).')
        self.affinity_walks = walks

    @staticmethod
    def _seed_head_cfg(seed_head: ConfigType, kwargs: dict) -> dict:
        """The seed head's config, and this head's missing arguments filled from it."""
        seed_cfg = copy.deepcopy(dict(seed_head))
        for key in ('num_classes', 'out_channels', 'threshold', 'align_corners'):
            if key in kwargs:  # given here, filled into the seed head (mmseg's leaf configs
                seed_cfg[key] = kwargs[key]  # set decode_head.num_classes)
        for key in _FROM_SEED:
            if key in seed_cfg:
                kwargs.setdefault(key, copy.deepcopy(seed_cfg[key]))
        if 'channels' not in kwargs:  # BaseDecodeHead requires it; the classifier is deleted
            kwargs['channels'] = kwargs.get('num_classes')
        if isinstance(kwargs.get('in_index'), (list, tuple)):  # e.g. SegformerHead's
            kwargs.setdefault('input_transform', 'multiple_select')
        kwargs.setdefault('dropout_ratio', 0.0)  # the seed head's classifier has its own
        kwargs.setdefault('init_cfg', None)  # the seed head initialises itself
        return seed_cfg

    @property
    def num_walks(self) -> int:
        return len(self.walks)

    def _split_inputs(self, inputs: List[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """Backbone stages and similarity levels f_0 .. f_{T-1} of the head's inputs (the
        neck appends the levels to the stages): the one place that tells them apart, once
        per forward (:meth:`trace`); callers take the levels from the trace."""
        name = type(self).__name__
        n_seed = len(inputs) - self.num_walks
        if n_seed < 1:
            raise ValueError(
                f'{name}: got {len(inputs)} feature maps, but {self.num_walks} similarity '
                'levels plus the seed stages are needed. Put a SimilarityBackbone or a '
                "SharedSimilarity in the neck slot of a 'DifNetEncoderDecoder' segmentor.")
        bad = [i for i in _indices(self.in_index) if not 0 <= i < n_seed]
        if bad:
            key = 'decode_head.seed_head' if hasattr(self, 'seed_head') else 'decode_head'
            raise ValueError(
                f'{name}: {key}.in_index={self.in_index} does not select one of the {n_seed} '
                f'seed-backbone stages (0..{n_seed - 1}) (outside: {bad}); the '
                f'{self.num_walks} entries after them are the similarity levels, and a seed '
                'read from them would leave the seed backbone untrained. Use '
                f'in_index={n_seed - 1} (the last stage), or indices in 0..{n_seed - 1}.')
        return inputs[:n_seed], inputs[n_seed:]

    def score_map(self, stages: List[Tensor]) -> Tensor:
        """x: the seed head's logits (B, K, h, w) from the backbone stages."""
        return self.seed_head(stages)

    def seed(self, stages: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        """x = seed head(stages), M = H(x), s = M·x (Sec. 4), from the backbone stages.

        Returns x (B, K, h, w), M (B, 1, h, w) and s (B, K, h·g, w·g).
        """
        x = self.score_map(stages)  # (B, K, h, w)
        if x.shape[2] * x.shape[3] < 2:  # checked on the seed head's own grid
            raise ValueError(
                f'{type(self).__name__}: the seed head\'s score map is {x.shape[2]}×'
                f'{x.shape[3]}: a single node, nothing to diffuse. The input is smaller than '
                'the seed branch\'s output stride: use larger images (or crops: crop_size in '
                'the config), or a larger test_cfg.crop_size for slide inference.')
        M = self.importance(x)  # (B, 1, h, w)
        s = M * x  # (B, K, h, w)
        if self.grid_scale > 1:  # a finer diffusion grid: (B, K, h·g, w·g)
            s = resize(s, scale_factor=self.grid_scale, mode='bilinear',
                       align_corners=self.align_corners)
        return x, M, s

    def cascade(self, s: Tensor, levels: Sequence[Tensor]
                ) -> Tuple[List[Tensor], List[Tensor]]:
        """The cascade y_0 = s, y_{t+1} = ⊕_t(f_t, y_t, s) (Eq. 5): ``(ys, psis)``, y_1 .. y_T
        each shaped as s, and Ψ_1 .. Ψ_T on the diffusion grid, each (B, N, d). ``levels`` are
        f_0 .. f_{T-1}, any spatial sizes."""
        if len(levels) != self.num_walks:
            raise ValueError(f'{type(self).__name__}: {len(levels)} similarity levels for '
                             f'{self.num_walks} walks.')
        ys, psis, y = [], [], s
        for walk, f in zip(self.walks, levels):
            y, psi = walk(f, y, s, return_psi=True)  # (B, K, h·g, w·g), (B, N, d)
            ys.append(y)
            psis.append(psi)
        return ys, psis

    def trace(self, inputs: List[Tensor]) -> DiffusionTrace:
        """One forward pass keeping every intermediate (x, M, s, y_1 .. y_T, the output, Ψ_t
        and the levels), from the head's inputs: the backbone stages and the similarity
        levels after them."""
        stages, levels = self._split_inputs(inputs)
        x, M, s = self.seed(stages)
        ys, psis = self.cascade(s, levels)
        return DiffusionTrace(x, M, s, ys, psis, list(levels))

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """The head's output y_T, (B, K, h·g, w·g)."""
        return self.trace(inputs).out

    def loss(self, inputs: List[Tensor], batch_data_samples, train_cfg) -> dict:
        """mmseg's loss of the output; with ``affinity_loss``, also ``loss_affinity<t>`` on
        the P_t of each walk in ``affinity_walks``, from the labels on the diffusion grid."""
        tr = self.trace(inputs)
        losses = self.loss_by_feat(tr.out, batch_data_samples)
        if self.affinity_loss is not None:
            labels = grid_labels(self._stack_batch_gt(batch_data_samples),
                                 tr.s.shape[2:])  # (B, N)
            for t in self.affinity_walks:
                losses[f'{self.affinity_loss.loss_name}{t + 1}'] = self.affinity_loss(
                    tr.psi[t], labels)
        return losses

    def similarity_stats(self, trace: DiffusionTrace, labels: Tensor) -> Tensor:
        """The similarity score's sums of every P_t (:func:`similarity_stats`) for labels
        (B, N) on the diffusion grid: (T, K, 4)."""
        return torch.stack([similarity_stats(psi, labels, self.num_classes,
                                             self.ignore_index) for psi in trace.psi])

    def sample_similarity_stats(self, trace: DiffusionTrace, data_samples,
                                input_shape: Tuple[int, int]) -> List[Tensor]:
        """:meth:`similarity_stats` of each test sample of ``trace``, from its label at its
        original size (``gt_sem_seg``) resized to the image as fed and padded as the data
        preprocessor padded it (``img_shape``, ``padding_size``; ``input_shape`` and none
        where a sample lacks them): one (T, K, 4) per sample."""
        grid = tuple(trace.s.shape[2:])
        out = []
        for i, d in enumerate(data_samples):
            labels = sample_grid_labels(
                d.gt_sem_seg.data, d.metainfo.get('img_shape', input_shape),
                d.metainfo.get('padding_size', [0] * 4), grid, self.ignore_index)  # (1, N)
            one = trace._replace(psi=[p[i:i + 1] for p in trace.psi])
            out.append(self.similarity_stats(one, labels.to(trace.s.device)))
        return out

    @staticmethod
    def transition_matrices(trace: DiffusionTrace) -> List[Tensor]:
        """P_t = softmax(Ψ_t Ψ_tᵀ) of every walk of ``trace`` on its diffusion grid, each
        (B, N, N), rows summing to 1: for inspection (Fig. 3); the walks never form P."""
        return [transition_matrix(psi) for psi in trace.psi]

    def walk_parameters(self) -> Tuple[Tensor, Tensor]:
        """μ_t and β_t of every walk (Table 3), each (T,)."""
        return (torch.stack([w.mu for w in self.walks]),
                torch.stack([w.beta for w in self.walks]))
