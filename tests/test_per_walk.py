"""Per-walk evaluation (the paper's Fig. 4 as numbers): one test pass gives the mIoU of the
score map x, the seed s and every walk output y_t; y_T's row is the standard mIoU."""
import glob
import json
import os.path as osp

import pytest
import torch
from helpers import tiny_cfg
from mmengine.runner import Runner
from mmseg.registry import RUNNERS

from mmseg_difnet.checkpoint import checked_loading


def test_per_walk_table_in_one_test_pass(trained, tmp_path):
    cfg = trained['cfg'].copy()
    cfg.work_dir = str(tmp_path)
    cfg.load_from = trained['ckpt']
    cfg.model.test_cfg = dict(mode='whole', per_walk=True)  # the one switch (or --per-walk)
    runner = Runner.from_cfg(cfg)  # mmseg's tools/test.py (mim test) builds the plain Runner
    with checked_loading():  # as CheckedLoadingHook does inside test()
        runner.load_or_resume()
    g = torch.Generator().manual_seed(0)
    head = runner.model.decode_head
    with torch.no_grad():  # a spatially varied score map, and walks that move y from it
        for conv in head.conv_seg:
            conv.weight.copy_(0.5 * torch.randn(conv.weight.shape, generator=g))
        for walk in head.walks:
            walk.mu_logit.fill_(3.0)
            walk.beta_logit.fill_(3.0)
    runner._has_loaded = True  # keep these walks: test() would reload the checkpoint
    metrics = runner.test()
    stages = ['x', 's', 'y1', 'y2', 'y3', 'y4', 'y5']
    assert all(f'mIoU_{k}' in metrics for k in stages)
    assert metrics['mIoU_y5'] == metrics['mIoU']  # y_T is the output, resized alike
    assert len({metrics[f'mIoU_{k}'] for k in stages}) > 1  # the rows differ
    assert metrics['mIoU_s'] != metrics['mIoU_y5']
    logged = sorted(glob.glob(osp.join(tmp_path, '*', '*.json')))
    assert logged and 'mIoU_y3' in json.load(open(logged[-1]))  # the metrics JSON
    assert 'per-stage mIoU' in open(runner.logger.log_file).read()


def test_per_walk_needs_whole_inference(data_dir, tmp_path):
    cfg = tiny_cfg(data_dir, tmp_path)
    cfg.model.test_cfg = dict(mode='slide', crop_size=(64, 64), stride=(32, 32), per_walk=True)
    runner = RUNNERS.build(cfg)
    with pytest.raises(ValueError, match="per_walk=True needs test_cfg.mode='whole'"):
        runner.test()
