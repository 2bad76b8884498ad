# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""An ``EncoderDecoder`` whose neck also sees the image: DifNet's similarity branch."""
import math

import torch
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import ConfigType, OptSampleList, SampleList
from torch import Tensor

from .checked_encoder_decoder import CheckedEncoderDecoder
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
        super().__init__(backbone=backbone, neck=neck, decode_head=decode_head, **kwargs)
        self.concurrent_branches = concurrent_branches
        self._side_stream = None
        levels = getattr(self.neck, 'levels', None)
        walks = getattr(self.decode_head, 'num_walks', None)
        if levels is not None and walks is not None and len(levels) != walks:
            raise ValueError(
                f'DifNetEncoderDecoder: the neck gives {len(levels)} similarity levels '
                f'(neck.levels={levels}) but the decode head has {walks} walks '
                f'(decode_head.sim_channels={self.decode_head.sim_channels}); give one '
                'sim_channels entry per level.')

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """mmseg's prediction; with ``test_cfg.per_walk=True`` each sample also gets the
        prediction of every stage (x, s, y1 .. yT) as ``pred_stage_<name>``, resized exactly
        as the final output, for :class:`PerWalkIoUMetric` (the paper's Fig. 4 as numbers)."""
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
        for name, logits in stages.items():
            out = self.postprocess_result(self.decode_head.predict_by_feat(logits, metas),
                                          [SegDataSample(metainfo=m) for m in metas])
            for res, o in zip(results, out):
                res.set_field(o.pred_sem_seg, f'pred_stage_{name}')
        return results

    def extract_feat(self, inputs: Tensor) -> list:
        """Seed features followed by the similarity levels."""
        stride = 4 * math.prod(getattr(self.backbone, 'strides', (1, 2, 1, 1)))
        if min(inputs.shape[-2:]) < stride:
            raise ValueError(
                f'DifNet: the input is {tuple(inputs.shape[-2:])} pixels, smaller than the '
                f'output stride {stride}: the diffusion grid would be empty or a single node. '
                'Use larger images (or crops: crop_size in the config), or a larger '
                'test_cfg.crop_size for slide inference.')
        if not (self.concurrent_branches and inputs.is_cuda
                and isinstance(self.neck, SimilarityBackbone)):
            return self.neck(self.backbone(inputs), inputs)
        main = torch.cuda.current_stream(inputs.device)
        if self._side_stream is None or self._side_stream.device != inputs.device:
            self._side_stream = torch.cuda.Stream(inputs.device)
        side = self._side_stream
        side.wait_stream(main)  # the image is ready
        with torch.cuda.stream(side):
            levels = self.neck.similarity_levels(inputs)
        seed = self.backbone(inputs)
        main.wait_stream(side)
        for f in levels:  # memory made on the side stream is used on the main one
            f.record_stream(main)
        return [*seed, *levels]
