# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""An ``EncoderDecoder`` whose neck also sees the image: DifNet's similarity branch."""
from typing import Optional, Tuple

import torch
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import ConfigType, OptSampleList, SampleList
from torch import Tensor

from .checked_encoder_decoder import CheckedEncoderDecoder
from .diffusion_head import SUPPORTED
from .similarity_backbone import SimilarityBackbone


@MODELS.register_module()
class DifNetEncoderDecoder(CheckedEncoderDecoder):
    """mmseg's ``EncoderDecoder`` (with the checks of :class:`CheckedEncoderDecoder`), with one
    change: the neck gets ``(backbone features, image)``.

    mmseg hands a neck only the backbone's features; DifNet's similarity branch
    (:class:`SimilarityBackbone`, in the neck slot) is a second backbone on the image. Only
    ``extract_feat`` differs, so loss/predict/tensor modes, whole and slide inference,
    test-time augmentation and auxiliary heads behave exactly as for ``EncoderDecoder``.

    Args:
        concurrent_branches (bool): On a GPU, run the similarity branch (a
            :class:`SimilarityBackbone`) on a second CUDA stream while the seed branch runs
            (they are independent until the walks, Sec. 5.4). Outputs are unchanged.
            Default: False.
        **kwargs: Arguments of :class:`CheckedEncoderDecoder` (``seed_checkpoint``: start the
            seed branch from a plain model's checkpoint); ``neck`` is the similarity branch.
    """

    def __init__(self, *, backbone: ConfigType, neck: ConfigType, decode_head: ConfigType,
                 concurrent_branches: bool = False, **kwargs) -> None:
        if isinstance(decode_head, (list, tuple)) or 'num_stages' in kwargs:
            raise ValueError(
                'DifNetEncoderDecoder: a cascade segmentor (CascadeEncoderDecoder: num_stages, '
                'a list of decode heads, as OCRNet and PointRend) is not supported: diffusion '
                'needs ' + SUPPORTED + ', given as decode_head.seed_head of a DiffusionHead.')
        super().__init__(backbone=backbone, neck=neck, decode_head=decode_head, **kwargs)
        self.concurrent_branches = concurrent_branches

    def similarity_channels(self) -> Optional[Tuple[int, ...]]:
        """The channels of the neck's similarity levels, by one dry forward of the backbone
        and the neck (eval mode, no gradient) on a zero 64×64 image; None if the neck does
        not take the image (it is then no similarity branch)."""
        image = torch.zeros(1, 3, 64, 64)
        modes = [(m, m.training) for m in (self.backbone, self.neck)]
        try:
            for m, _ in modes:
                m.eval()
            with torch.no_grad():
                feats = self.backbone(image)
                try:
                    out = self.neck(feats, image)
                except TypeError:  # a plain mmseg neck: forward(feats)
                    return None
        finally:
            for m, mode in modes:
                m.train(mode)
        return tuple(f.shape[1] for f in out[len(feats):])

    def _init_decode_head(self, decode_head: ConfigType) -> None:
        """mmseg's, with the walks built for the neck's levels: ``decode_head.sim_channels``
        is taken from the neck (:meth:`similarity_channels`) when not given, and checked
        against it when given, naming the walk that disagrees."""
        found = self.similarity_channels() if self.with_neck else None
        given = decode_head.get('sim_channels')
        if found is not None and given is None:
            decode_head = dict(decode_head, sim_channels=found)
        elif found is not None and tuple(given) != found:
            bad = [f'walk {i}: {g} vs {f}' for i, (g, f) in enumerate(zip(given, found))
                   if g != f]
            raise ValueError(
                f'DifNetEncoderDecoder: decode_head.sim_channels={tuple(given)} but the neck '
                f'({type(self.neck).__name__}) gives {len(found)} similarity levels with '
                f'{found} channels' + (f' ({"; ".join(bad)})' if bad else '') + '. Leave '
                f'sim_channels out to take the neck\'s, or set sim_channels={found}.')
        super()._init_decode_head(decode_head)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """mmseg's prediction; with ``test_cfg.per_walk=True`` each sample also gets the
        prediction of every stage (x, s, y1 .. yT) as ``pred_stage_<name>``, resized exactly
        as the final output, for :class:`PerWalkIoUMetric` (the paper's Fig. 4 as numbers),
        and, where the samples carry labels, the similarity score's sums of every P_t as
        ``similarity_stats`` (T, K, 4; :meth:`DiffusionHead.similarity_stats`)."""
        if not self.test_cfg.get('per_walk', False):
            return super().predict(inputs, data_samples)
        if self.test_cfg.get('mode', 'whole') != 'whole':
            raise ValueError(
                f"DifNet: test_cfg.per_walk=True needs test_cfg.mode='whole' (got "
                f"{self.test_cfg.get('mode')!r}): a sliding window has no single trace.")
        self._check(inputs, data_samples, 'validation/test')
        if data_samples is None:
            shape = inputs.shape[2:]
            data_samples = [SegDataSample(metainfo=dict(
                ori_shape=shape, img_shape=shape, pad_shape=shape, padding_size=[0] * 4))
                for _ in range(inputs.shape[0])]
        metas = [s.metainfo for s in data_samples]
        trace = self.decode_head.trace(self.extract_feat(inputs))
        stages = trace.stages()
        results = self.postprocess_result(
            self.decode_head.predict_by_feat(trace.out, metas),
            data_samples)  # exactly mmseg's whole-image prediction from the output
        if data_samples and all('gt_sem_seg' in d for d in data_samples):
            for res, stats in zip(results, self.decode_head.sample_similarity_stats(
                    trace, data_samples, tuple(inputs.shape[2:]))):
                res.set_field(stats, 'similarity_stats')  # (T, K, 4): for PerWalkIoUMetric
        for name, logits in stages.items():
            out = self.postprocess_result(self.decode_head.predict_by_feat(logits, metas),
                                          [SegDataSample(metainfo=m) for m in metas])
            for res, o in zip(results, out):
                res.set_field(o.pred_sem_seg, f'pred_stage_{name}')
        return results

    def extract_feat(self, inputs: Tensor) -> list:
        """Seed features followed by the similarity levels."""
        if not (self.concurrent_branches and inputs.is_cuda
                and isinstance(self.neck, SimilarityBackbone) and self.neck.backbone is not None):
            return self.neck(self.backbone(inputs), inputs)
        main = torch.cuda.current_stream(inputs.device)
        # a stream of PyTorch's pool (no creation per call), kept nowhere: a model holding
        # a Stream cannot be deep-copied or pickled (EMA, fuse_conv_bn on a copy)
        side = torch.cuda.Stream(inputs.device)
        side.wait_stream(main)  # the image is ready
        with torch.cuda.stream(side):
            levels = self.neck.similarity_levels(inputs)
        seed = self.backbone(inputs)
        main.wait_stream(side)
        for f in levels:  # memory made on the side stream is used on the main one
            f.record_stream(main)
        return [*seed, *levels]
