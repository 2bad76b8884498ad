# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The paper's Fig. 4 as numbers (the mIoU of the score map x, the seed s and every walk's
output y_t, in one test pass) and its motivation as numbers: the mIoU near label boundaries
(trimap mIoU), where a stride-8 score map is poorest."""
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from torch import Tensor

from ..models.label_affinity import similarity_summary

STAGE_PREFIX = 'pred_stage_'  # data-sample fields written by DifNetEncoderDecoder
SIMILARITY = 'similarity'  # key of the similarity score's sums among a result's extras


def _stage_order(name: str):
    """x, s, y1, y2, ..., y10, then the output: the order of the method."""
    order = {'x': (0, 0), 's': (1, 0), 'output': (3, 0)}
    return order[name] if name in order else (2, int(name[1:]))


def boundary_band(label: Tensor, radius: int) -> Tensor:
    """The trimap band: pixels with another label value within ``radius`` pixels
    (Chebyshev distance, a (2r+1)×(2r+1) window). (H, W) labels -> (H, W) bool.

    The ignore value counts as a label (a pixel beside void is near a boundary; void pixels
    themselves are not scored); the image's edge is not a boundary.
    """
    x = F.pad(label[None, None].float(), [radius] * 4, mode='replicate')  # (1, 1, H+2r, W+2r)
    k = 2 * radius + 1
    hi = F.max_pool2d(x, k, stride=1)
    lo = -F.max_pool2d(-x, k, stride=1)
    return (hi != lo)[0, 0]  # (H, W)


@METRICS.register_module()
class PerWalkIoUMetric(IoUMetric):
    """mmseg's ``IoUMetric`` plus the mIoU of every stage of DifNet and near boundaries.

    - Per stage: the model writes one prediction per stage (``model.test_cfg.per_walk=True``:
      x, s and each y_t, resized exactly as the final output); this metric adds ``mIoU_x``,
      ``mIoU_s``, ``mIoU_y1`` .. ``mIoU_yT`` (``mIoU_yT`` equals ``mIoU``: y_T is the output).
    - Near boundaries (``trimap_radii``): for each radius r, the mIoU over the labelled pixels
      within r pixels of a label boundary (:func:`boundary_band`; the trimap evaluation of
      Kohli et al. 2009 and DeepLab), as ``mIoU_band{r}`` and, per stage, ``mIoU_{stage}_band{r}``.
      Measured on the label's own grid (the original image size in mmseg's test pipelines).
    - ``classwise``: the IoU of each class as ``IoU.{class}`` (mmseg only logs them).
    - The similarity score of every P_t (docs/studies/similarity.md), where the model wrote
      ``similarity_stats`` (per_walk with labels): ``sim_same_P{t}`` (mass to other nodes of
      the node's class), ``sim_chance_P{t}``, ``sim_lift_P{t}``, ``sim_self_P{t}`` and
      ``sim_same_P{t}.{class}``.

    Without these it is exactly mmseg's ``IoUMetric``, so the project's dataset bases use it.

    Args:
        trimap_radii (Sequence[int]): Band radii in pixels, e.g. ``(2, 4, 8)``. Default: ()
            (off). On the command line: ``--cfg-options test_evaluator.trimap_radii=[2,4,8]``.
        classwise (bool): Add the per-class IoU to the metrics. Default: False.
        **kwargs: Arguments of mmseg's ``IoUMetric``.
    """

    def __init__(self, *, trimap_radii: Sequence[int] = (), classwise: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        bad = [r for r in trimap_radii if not (isinstance(r, int) and r >= 1)]
        if bad:
            raise ValueError(f'PerWalkIoUMetric: trimap_radii={list(trimap_radii)} has {bad}; '
                             'each radius is a whole number of pixels >= 1, e.g. [2, 4, 8].')
        self.trimap_radii = tuple(trimap_radii)
        self.classwise = classwise

    def _areas(self, pred: Tensor, label: Tensor) -> Tuple[Tensor, ...]:
        num_classes = len(self.dataset_meta['classes'])
        return self.intersect_and_union(pred, label.to(pred), num_classes, self.ignore_index)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        before = len(self.results)
        super().process(data_batch, data_samples)
        if self.format_only:
            return
        for i, sample in enumerate(data_samples):
            label = sample['gt_sem_seg']['data'].squeeze()  # (H, W)
            stages = {k[len(STAGE_PREFIX):]: v['data'].squeeze() for k, v in sample.items()
                      if k.startswith(STAGE_PREFIX)}
            # (stage or '' for the output, radius or 0 for every pixel) -> areas
            extra: Dict[Tuple[str, int], Tuple[Tensor, ...]] = {
                (name, 0): self._areas(pred, label) for name, pred in stages.items()}
            for r in self.trimap_radii:
                band_label = torch.where(boundary_band(label, r), label,
                                         torch.full_like(label, self.ignore_index))
                extra[('', r)] = self._areas(sample['pred_sem_seg']['data'].squeeze(),
                                             band_label)
                for name, pred in stages.items():
                    extra[(name, r)] = self._areas(pred, band_label)
            if 'similarity_stats' in sample:  # (T, K, 4) sums, from the model's per_walk
                extra[SIMILARITY] = sample['similarity_stats'].cpu()
            if extra:
                self.results[before + i] = (*self.results[before + i], extra)

    def _similarity(self, stats: Tensor) -> Dict[str, float]:
        """The similarity score of every P_t (T, K, 4 sums over the frames) as metrics
        ``sim_same_P<t>``, ``sim_chance_P<t>``, ``sim_lift_P<t>``, ``sim_self_P<t>`` and
        ``sim_same_P<t>.<class>``, and its table in the log."""
        classes = self.dataset_meta['classes']
        metrics: Dict[str, float] = {}
        rows = []
        for t, st in enumerate(stats):
            summary = similarity_summary(st, classes)
            for key, value in summary.items():
                head, _, cls = key.partition('.')
                metrics[f'sim_{head}_P{t + 1}' + (f'.{cls}' if cls else '')] = round(value, 4)
            rows.append(f'| P_{t + 1} | ' + ' | '.join(
                f'{summary[k]:.3f}' for k in ('same', 'chance', 'lift', 'self')) + ' | '
                + ' | '.join(f'{summary["same." + c]:.2f}' for c in classes) + ' |')
        print_log('similarity score of every P_t (mass to other nodes of the node\'s class, '
                  'its chance level, lift, self mass P_ii; then the same-class mass per class)'
                  '\n' + '\n'.join([
                      '| P | same | chance | lift | self | ' + ' | '.join(classes) + ' |',
                      '|---|' + '---:|' * (4 + len(classes)), *rows]), logger='current')
        return metrics

    def _miou(self, areas: Sequence[Tensor]) -> Tuple[float, np.ndarray]:
        iou = self.total_area_to_metrics(*areas, ['mIoU'], self.nan_to_num)['IoU']
        return float(np.round(np.nanmean(iou) * 100, 2)), iou

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics([r[:4] for r in results])
        if self.classwise:
            _, iou = self._miou([sum(r[j] for r in results) for j in range(4)])
            for name, v in zip(self.dataset_meta['classes'], iou):
                metrics[f'IoU.{name}'] = float(np.round(v * 100, 2))
        keys = results[0][4].keys() if results and all(len(r) > 4 for r in results) else ()
        if SIMILARITY in keys:
            metrics.update(self._similarity(sum(r[4][SIMILARITY] for r in results)))
        table: Dict[str, Dict[int, float]] = {}
        for name, r in (k for k in keys if k != SIMILARITY):
            value, _ = self._miou([sum(res[4][(name, r)][j] for res in results)
                                   for j in range(4)])
            key = 'mIoU' + (f'_{name}' if name else '') + (f'_band{r}' if r else '')
            metrics[key] = value
            table.setdefault(name or 'output', {})[r] = value
        if table:
            if self.trimap_radii:
                table.setdefault('output', {})[0] = float(metrics['mIoU'])
            radii = sorted({r for row in table.values() for r in row})
            head = ' | '.join('all' if r == 0 else f'band {r}px' for r in radii)
            rows = [f'| {name} | ' + ' | '.join(f'{row[r]:.2f}' if r in row else '-'
                                               for r in radii) + ' |'
                    for name, row in sorted(table.items(), key=lambda kv: _stage_order(kv[0]))]
            print_log('per-stage mIoU (Fig. 4: score map x, seed s, output y_t of each walk) '
                      'and within r pixels of a label boundary\n'
                      + '\n'.join([f'| stage | {head} |',
                                   '|---|' + '---:|' * len(radii), *rows]),
                      logger='current')
        return metrics
