# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""mmseg's ``EncoderDecoder`` with the checks that turn silent wrong results into errors."""
import os.path as osp
from typing import Optional

from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from .seed_checkpoint import map_plain_checkpoint


def check_labels(data_samples: OptSampleList, num_classes: int, ignore_index: int,
                 stage: str) -> None:
    """Every label is a class index or the ignore index, or a ``ValueError`` names the file.

    Out of range, a label is silently skipped by mmseg's metric (changing the mIoU) or fails
    deep inside the loss.
    """
    for sample in data_samples or []:
        if 'gt_sem_seg' not in sample:
            continue
        label = sample.gt_sem_seg.data
        bad = label[(label >= num_classes) | (label < 0)]
        bad = bad[bad != ignore_index].unique()
        if bad.numel():
            raise ValueError(
                f'{stage}: label values {bad.tolist()[:10]} in '
                f'{sample.get("seg_map_path", "?")} lie outside [0, {num_classes}) and are '
                f'not the ignore index {ignore_index}: set decode_head.num_classes to the '
                "number of classes, or convert the labels (mmseg's dataset converters; "
                'reduce_zero_label=True for datasets whose 0 is background to ignore).')


@MODELS.register_module()
class CheckedEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` that checks, in training, validation and testing alike, that the
    labels are class indices and that the input holds no NaN/Inf (one NaN pixel would
    turn the whole prediction into class 0 through the softmax).

    Args:
        seed_checkpoint (str, optional): A plain mmseg model's checkpoint (``backbone``,
            ``decode_head``, ``auxiliary_head``) to start from when the weights are
            initialised (a fresh run; ``load_from`` and ``--resume`` load over it). Under a
            :class:`DiffusionHead` its decode head becomes the seed head and H, the walks and
            the similarity branch start from their init (:func:`map_plain_checkpoint`); a
            checkpoint of another model or class count is refused. Default: None.
        **kwargs: Arguments of mmseg's ``EncoderDecoder``.
    """

    def __init__(self, *, seed_checkpoint: Optional[str] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seed_checkpoint = seed_checkpoint

    def init_weights(self) -> None:
        """Every module's own init, then the plain model's weights of ``seed_checkpoint``."""
        super().init_weights()
        if self.seed_checkpoint is None:
            return
        if '://' not in self.seed_checkpoint and not osp.isfile(self.seed_checkpoint):
            raise FileNotFoundError(
                f'model.seed_checkpoint={self.seed_checkpoint!r} does not exist: give the '
                'checkpoint of the trained plain model (e.g. work_dirs/<run>/iter_N.pth).')
        ckpt = _load_checkpoint(self.seed_checkpoint, map_location='cpu')  # verified
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
        mapped, fresh = map_plain_checkpoint(state, self, self.seed_checkpoint)
        self.load_state_dict(mapped, strict=False)
        parts = sorted({'.'.join(k.split('.')[:2]) for k in fresh})
        print_log(f'seed branch loaded from {self.seed_checkpoint} ({len(mapped)} tensors); '
                  f'{len(fresh)} tensors start from their init: {", ".join(parts)}',
                  logger='current')


    def _check(self, inputs: Tensor, data_samples: OptSampleList, stage: str) -> None:
        check_labels(data_samples, self.decode_head.num_classes,
                     self.decode_head.ignore_index, stage)
        if not inputs.isfinite().all():
            paths = [s.get('img_path', '?') for s in data_samples or []]
            raise ValueError(
                f'{stage}: the input of {paths or "this batch"} holds '
                f'{int((~inputs.isfinite()).sum())} NaN/Inf values: the prediction would be '
                'meaningless. Check the image (or the array given to inference_model).')

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        self._check(inputs, data_samples, 'training')
        return super().loss(inputs, data_samples)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        self._check(inputs, data_samples, 'validation/test')
        return super().predict(inputs, data_samples)
