# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""What the post-processing pilot and study share (tools/studies/postprocess_pilot.py,
refine_zoo_study.py): a zoo model in a PostProcessedSegmentor with its checkpoint, a split's
frames, each frame's base probabilities once, the prediction as mmseg makes it, and the areas
of every pixel and of the ≤ 2 px band."""
import ast
import json
import os
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.evaluation import IoUMetric
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample

from mmseg_difnet.checkpoint import checked_loading, read_checkpoint, state_dict_of
from mmseg_difnet.utils import for_one_process


def wrapper_of(config: str, checkpoint: str, post=None):
    """The base model of ``config`` in a PostProcessedSegmentor, its checkpoint loaded."""
    cfg = for_one_process(Config.fromfile(config))
    model = MODELS.build(dict(type='PostProcessedSegmentor', base=cfg.model,
                              post_processor=post))
    with checked_loading():
        model.load_state_dict(state_dict_of(read_checkpoint(checkpoint)))
    return cfg, model.eval()


def frames_of(cfg, root: str, split: str, limit):
    ds = dict(cfg.test_dataloader.dataset, data_root=root,
              data_prefix=dict(img_path=split, seg_map_path=split + 'annot'))
    dataset = DATASETS.build(ds)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    return dataset, n


class Scorer:
    """Areas of every pixel and of the ≤ 2 px band, per setting and half of the frames."""

    def __init__(self, num_classes: int, ignore_index: int = 255):
        self.k, self.ignore = num_classes, ignore_index
        self.areas = {}

    def add(self, key, half: int, pred: torch.Tensor, label: torch.Tensor, band) -> None:
        for scope, lab in (('all', label), ('band', band)):
            a = IoUMetric.intersect_and_union(pred, lab.to(pred), self.k, self.ignore)
            acc = self.areas.setdefault((key, half, scope), [torch.zeros(self.k)] * 4)
            self.areas[(key, half, scope)] = [x + y.float().cpu() for x, y in zip(acc, a)]

    def save(self, path: str) -> None:
        with open(path + '.tmp', 'w') as f:
            json.dump(dict(k=self.k, ignore=self.ignore, areas={
                repr(key): [a.tolist() for a in v] for key, v in self.areas.items()}), f)
        os.replace(path + '.tmp', path)

    @classmethod
    def load(cls, path: str) -> 'Scorer':
        with open(path) as f:
            d = json.load(f)
        sc = cls(d['k'], d['ignore'])
        sc.areas = {ast.literal_eval(k): [torch.tensor(a) for a in v]
                    for k, v in d['areas'].items()}
        return sc

    def miou(self, key, halves=(0, 1), scope='all') -> float:
        tot = [sum(self.areas[(key, h, scope)][j] for h in halves) for j in range(4)]
        iou = tot[0] / tot[1]
        return float(np.nanmean(iou.numpy()) * 100)


def base_frames(model, dataset, n, timings=None):
    """Per frame: probabilities (B=1, K, H, W), the image (1, 3, H, W, 0..255), the sample;
    ``timings``: a list that gets the seconds of the base model's inference of each."""
    for i in range(n):
        data = model.data_preprocessor(pseudo_collate([dataset[i]]))
        metas = [s.metainfo for s in data['data_samples']]
        t0 = time.perf_counter()
        with torch.no_grad():
            probs = torch.softmax(model.base.inference(data['inputs'], metas).float(), 1)
        if timings is not None:
            timings.append(time.perf_counter() - t0)
        yield probs, model.rgb(data['inputs']), data['data_samples'][0]


def predict(model, probs, sample) -> torch.Tensor:
    out = model.base.postprocess_result(probs.clamp(min=1e-8).log(),
                                        [SegDataSample(metainfo=sample.metainfo)])
    return out[0].pred_sem_seg.data[0]
