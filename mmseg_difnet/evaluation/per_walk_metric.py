# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The paper's Fig. 4 as numbers: the mIoU of the score map x, the seed s and every walk's
output y_t, in one test pass."""
from typing import Dict, Sequence

import numpy as np
from mmengine.logging import print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

STAGE_PREFIX = 'pred_stage_'  # data-sample fields written by DifNetEncoderDecoder


def _stage_order(name: str):
    """x, s, y1, y2, ..., y10: the order of the method."""
    return (0, 0) if name == 'x' else (1, 0) if name == 's' else (2, int(name[1:]))


@METRICS.register_module()
class PerWalkIoUMetric(IoUMetric):
    """mmseg's ``IoUMetric`` plus the mIoU of every stage of DifNet.

    The model writes one prediction per stage (``model.test_cfg.per_walk=True``: x, s and each
    y_t, resized exactly as the final output); this metric adds ``mIoU_x``, ``mIoU_s``,
    ``mIoU_y1`` .. ``mIoU_yT`` to the usual metrics and logs them as a table. ``mIoU_yT``
    equals ``mIoU``: y_T is the output. Without per-stage predictions it is exactly mmseg's
    ``IoUMetric``, so the project's dataset bases use it, and ``per_walk`` is the one switch.
    """

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        before = len(self.results)
        super().process(data_batch, data_samples)
        if self.format_only:
            return
        num_classes = len(self.dataset_meta['classes'])
        for i, sample in enumerate(data_samples):
            label = sample['gt_sem_seg']['data'].squeeze()
            stages = {k[len(STAGE_PREFIX):]: v['data'].squeeze() for k, v in sample.items()
                      if k.startswith(STAGE_PREFIX)}
            if not stages:
                continue  # per_walk off, or not a DifNet: exactly mmseg's IoUMetric
            per_stage = {name: self.intersect_and_union(pred, label.to(pred), num_classes,
                                                        self.ignore_index)
                         for name, pred in stages.items()}
            self.results[before + i] = (*self.results[before + i], per_stage)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics([r[:4] for r in results])
        names = sorted(results[0][4], key=_stage_order) \
            if results and all(len(r) > 4 for r in results) else []
        rows = []
        for name in names:
            areas = [sum(r[4][name][j] for r in results) for j in range(4)]
            iou = self.total_area_to_metrics(*areas, ['mIoU'], self.nan_to_num)['IoU']
            value = float(np.round(np.nanmean(iou) * 100, 2))
            metrics[f'mIoU_{name}'] = value
            rows.append(f'| {name} | {value:.2f} |')
        if rows:
            print_log('per-stage mIoU (Fig. 4): score map x, seed s, output y_t of each walk\n'
                      + '\n'.join(['| stage | mIoU |', '|---|---:|', *rows]), logger='current')
        return metrics
