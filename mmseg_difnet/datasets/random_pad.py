# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
from typing import Tuple

import mmcv
import numpy as np
from mmcv.transforms import Pad
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomPad(Pad):
    """mmcv's ``Pad`` to a fixed ``size`` (w, h), with the image placed at a random offset
    rather than at the top left (the padding all at the bottom right).

    The reference's training crop (sdujump/DifNet ``dataset.py:62-66``) draws the offsets of
    a side longer than the image as ``np.random.randint(0, slack)``: uniform over
    ``0 .. slack - 1``, so at least one row (column) of padding stays below (right of) the
    image; a side without slack gets none. This transform draws the same way.
    Put it after ``RandomCrop`` (which leaves no side above ``size``), as mmseg's pipelines
    put ``Pad``; docs/reference_differences.md row 14.

    Args:
        size (tuple[int, int]): the padded (w, h), as ``Pad``'s.
        pad_val (dict): ``img`` and ``seg`` padding values, as ``Pad``'s.
    """

    def __init__(self, size: Tuple[int, int], pad_val: dict = dict(img=0, seg=255)) -> None:
        super().__init__(size=size, pad_val=pad_val)

    @cache_randomness
    def _offset(self, h: int, w: int) -> Tuple[int, int]:
        """(top, left), as the reference's ``dataset.py:62-63``."""
        th, tw = self.size[1], self.size[0]
        return (np.random.randint(0, th - h) if th > h else 0,
                np.random.randint(0, tw - w) if tw > w else 0)

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        tw, th = self.size
        if h > th or w > tw:
            raise ValueError(
                f"RandomPad(size={self.size}) got an image of {w}×{h} (w×h) from "
                f"'{results.get('img_path')}': it pads, never crops. Put a RandomCrop with "
                f"crop_size no larger than {self.size[::-1]} (h, w) before it.")
        top, left = self._offset(h, w)
        padding = (left, top, tw - w - left, th - h - top)  # mmcv.impad's order
        pad_img = self.pad_val.get('img', 0)
        if isinstance(pad_img, int) and img.ndim == 3:
            pad_img = (pad_img, ) * img.shape[2]
        results['img'] = mmcv.impad(img, padding=padding, pad_val=pad_img)
        if results.get('gt_seg_map') is not None:
            results['gt_seg_map'] = mmcv.impad(results['gt_seg_map'], padding=padding,
                                               pad_val=self.pad_val.get('seg', 255))
        results.update(img_shape=(th, tw), pad_shape=results['img'].shape,
                       pad_fixed_size=self.size, pad_size_divisor=None)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size={self.size}, pad_val={self.pad_val})'
