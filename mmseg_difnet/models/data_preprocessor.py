# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Test-time padding that equals training's: black before normalisation, centred."""
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS

PAD_POSITIONS = ('centre', 'bottom_right')


def test_size_padding(h: int, w: int, size: Optional[Sequence[int]] = None,
                 size_divisor: Optional[int] = None,
                 position: str = 'centre') -> Tuple[int, int, int, int]:
    """(left, right, top, bottom) that bring an (h, w) test image to ``size`` (never smaller
    than the image), then to multiples of ``size_divisor``: as mmseg's ``test_cfg`` of a data
    preprocessor. ``position``: 'centre' (an odd margin's extra row or column top/left) or
    'bottom_right' (mmseg's). The one place the test-time padding is computed: the data
    preprocessor, the export wrapper and the labels of a test sample
    (``img_padding_size``) follow it."""
    th, tw = size or (h, w)
    th, tw = max(th, h), max(tw, w)
    if size_divisor:
        th, tw = -(-th // size_divisor) * size_divisor, -(-tw // size_divisor) * size_divisor
    dh, dw = th - h, tw - w
    if position == 'bottom_right':
        return 0, dw, 0, dh
    top, left = (dh + 1) // 2, (dw + 1) // 2
    return left, dw - left, top, dh - top


@MODELS.register_module()
class DifNetDataPreProcessor(SegDataPreProcessor):
    """mmseg's ``SegDataPreProcessor`` with the reference's validation padding.

    mmseg pads a test image (``test_cfg=dict(size=...)``) after normalisation with
    ``pad_val`` at the bottom right, i.e. with the mean grey, while training crops are padded
    black before normalisation (the pipeline's ``Pad``): every padded node enters every walk's
    softmax, so the two must agree. Here the test image is padded with ``pad_val`` *before*
    normalisation (0 = black, as training), centred as the reference's validation
    (sdujump/DifNet dataset.py:67-71 and main.py:55: ``crop=False`` pads to 505 around the
    image, black, label 255). The padding is recorded in ``img_padding_size`` so that mmseg's
    ``postprocess_result`` crops the prediction back to the image, to the pixel.

    Args:
        test_pad_position (str): 'centre' (the reference; with an odd margin the extra row
            or column goes top/left, as Python 2's ``round`` in dataset.py:68-69), or
            'bottom_right' (mmseg's position). Default: 'centre'.
        **kwargs: Arguments of ``SegDataPreProcessor``; ``test_cfg`` takes ``size`` and/or
            ``size_divisor`` as there.
    """

    def __init__(self, *, test_pad_position: str = 'centre', **kwargs) -> None:
        if test_pad_position not in PAD_POSITIONS:
            raise ValueError(f'DifNetDataPreProcessor: test_pad_position={test_pad_position!r} '
                             f'must be one of {PAD_POSITIONS}.')
        super().__init__(**kwargs)
        self.test_pad_position = test_pad_position
        self.test_pad_cfg = self.test_cfg or {}
        self.test_cfg = None  # mmseg's own test padding (after normalisation) is replaced
        fill = torch.full((3, 1, 1), float(self.pad_val))
        if self._enable_normalize:
            fill = (fill - self.mean) / self.std  # black in normalised units, per channel
        self.register_buffer('pad_fill', fill, persistent=False)

    def padding(self, h: int, w: int) -> Tuple[int, int, int, int]:
        """(left, right, top, bottom) that bring an (h, w) test image to the test size."""
        return test_size_padding(h, w, self.test_pad_cfg.get('size', None),
                            self.test_pad_cfg.get('size_divisor', None), self.test_pad_position)

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        for img in data['inputs']:
            if self._enable_normalize and img.shape[0] != self.mean.shape[0]:
                raise ValueError(
                    f'an input image has {img.shape[0]} channels ({tuple(img.shape)}), the '
                    f'model normalises {self.mean.shape[0]}: give 3-channel BGR images (an '
                    'RGBA array: cv2.cvtColor(img, cv2.COLOR_BGRA2BGR); a grey one: '
                    'cv2.COLOR_GRAY2BGR), or load files with LoadImageFromFile, which does.')
        try:
            out = super().forward(data, training)
        except RuntimeError as e:
            if 'stack expects each tensor to be equal size' not in str(e):
                raise
            sizes = [f"{s.metainfo.get('img_path', '?')}: {tuple(img.shape[-2:])}"
                     for img, s in zip(data['inputs'], data.get('data_samples') or [])]
            raise ValueError(
                f'the images of one batch have different sizes ({"; ".join(sizes)}) and the '
                f'data preprocessor pads to size={self.size}, size_divisor='
                f'{self.size_divisor} but never shrinks: crop training images in the pipeline '
                '(RandomCrop with crop_size <= size), or set data_preprocessor.size to at '
                'least the largest (H, W).') from e
        if training or not self.test_pad_cfg:
            return out
        inputs = out['inputs']  # (1, C, h, w), normalised
        B, C, h, w = inputs.shape
        left, right, top, bottom = self.padding(h, w)
        fill = self.pad_fill if C == 3 else self.pad_fill.new_full((C, 1, 1), self.pad_val)
        padded = fill.expand(C, h + top + bottom, w + left + right).repeat(B, 1, 1, 1)
        padded[:, :, top:top + h, left:left + w] = inputs
        for sample in out['data_samples'] or []:
            sample.set_metainfo(dict(img_padding_size=[left, right, top, bottom],
                                     pad_shape=tuple(padded.shape[-2:])))
        return dict(out, inputs=padded)
