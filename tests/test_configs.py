"""Every config under configs/ builds its model offline and runs a forward pass on CPU;
difnet_r50_voc.py trains one iteration on generated data with the Runner."""
import glob
import os.path as osp

import pytest
import torch
from helpers import ROOT
from mmengine.config import Config
from mmengine.runner import Runner
from mmseg.registry import MODELS

from mmseg_difnet.datasets import generate_synthetic_voc
from mmseg_difnet.utils import prepare_for_device

CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'difnet', '*.py')))
EXPECTED = {'difnet_r18_voc', 'difnet_r34_voc', 'difnet_r50_voc', 'difnet_r101_voc',
            'difnet_r50_noaspp_voc', 'difnet_r50_context', 'difnet_r101_context',
            'deeplabv2_r18_voc', 'deeplabv2_r34_voc', 'deeplabv2_r50_voc',
            'deeplabv2_r101_voc', 'deeplabv2_r50_context', 'deeplabv2_r101_context',
            'difnet_r50-d8_4xb4-20k_voc12aug-512x512', 'difnet_r50-d8_4xb4-40k_voc12aug-512x512',
            'difnet_r101-d8_4xb4-20k_voc12aug-512x512',
            'difnet_r101-d8_4xb4-40k_voc12aug-512x512',
            'difnet_r18_synthetic', 'deeplabv2_r18_synthetic',
            'difnet_r50_context60', 'difnet_r101_context60', 'deeplabv2_r50_context60',
            'deeplabv2_r101_context60', 'difnet_r50_voc_reference',
            'deeplabv2_r50_voc_reference', 'difnet_mv2-d8_camvid-240x320',
            'deeplabv2_mv2-d8_camvid-240x320',
            'difnet-deeplabv3plus_r50-d8_4xb4-20k_voc12aug-512x512',
            'difnet-deeplabv3plus_r50-d8_4xb4-40k_voc12aug-512x512',
            'difnet-pspnet_r50-d8_4xb4-20k_voc12aug-512x512',
            'difnet-pspnet_r50-d8_4xb4-40k_voc12aug-512x512',
            'deeplabv3plus_mv2-d8_camvid-240x320', 'pspnet_mv2-d8_camvid-240x320',
            'difnet-deeplabv3plus_mv2-d8_camvid-240x320',
            'difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320',
            'difnet-pspnet_mv2-d8_camvid-240x320'}
# the head of each plain model, and the seed head of its version with diffusion
PLAIN_HEADS = {'deeplabv2': 'DeepLabV2Head', 'deeplabv3plus': 'DepthwiseSeparableASPPHead',
               'pspnet': 'PSPHead'}


def test_all_expected_configs_exist():
    assert EXPECTED <= {osp.splitext(osp.basename(c))[0] for c in CONFIGS}


def test_the_model_index_names_existing_configs_and_only_measured_results():
    import yaml
    index = yaml.safe_load(open(osp.join(ROOT, 'model-index.yml')))
    assert set(index['Import']) == {'configs/difnet/metafile.yaml', 'configs/zoo/metafile.yaml'}
    for metafile in index['Import']:
        text = open(osp.join(ROOT, metafile)).read()
        assert 'the paper' not in ''.join(  # the paper's numbers are comments, not Results
            line for line in text.splitlines() if not line.lstrip().startswith('#'))
        for model in yaml.safe_load(text)['Models']:
            assert osp.isfile(osp.join(ROOT, model['Config'])), (metafile, model['Name'])
            assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.basename(p))
def test_config_builds_and_forwards(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model).eval()  # no init_weights: nothing is downloaded
    name = osp.basename(path)
    K = (60 if 'context60' in name else 59 if 'context' in name else 11 if 'camvid' in name
         else 21)
    assert model.decode_head.num_classes == K
    plain = name.split('_')[0].removeprefix('difnet-')
    if name.startswith('difnet'):
        assert type(model).__name__ == 'DifNetEncoderDecoder'
        assert len(model.decode_head.walks) == 5
        if 'shared' in name:
            assert type(model.neck).__name__ == 'SharedSimilarity'
        else:
            sim, seed = model.neck.backbone, model.backbone  # the same architecture
            assert type(sim) is type(seed) and getattr(sim, 'depth', 0) == getattr(seed,
                                                                                   'depth', 0)
    if name.startswith('difnet'):  # beyond the paper, only in the configs that say so
        assert (model.decode_head.affinity_loss is not None) == ('affinity' in name)
    if name.startswith('difnet-'):  # diffusion behind a plain mmseg model's decode head
        assert type(model.decode_head).__name__ == 'DiffusionHead'
        seed_head = model.decode_head.seed_head
        assert type(seed_head).__name__ == PLAIN_HEADS[plain]
        assert seed_head.num_classes == K and model.auxiliary_head.num_classes == K
    elif not name.startswith('difnet'):
        assert type(model.decode_head).__name__ == PLAIN_HEADS[plain]
    x = torch.randn(1, 3, 65, 65)
    with torch.no_grad():
        g = getattr(model.decode_head, 'grid_scale', 1)  # the demo diffuses at stride 4
        side = 17 if plain == 'deeplabv3plus' else 9 * g  # DeepLabV3+ decodes at stride 4
        assert model(x, mode='tensor').shape == (1, K, side, side)


def test_reference_protocol_configs_set_every_switch():
    """docs/reference_differences.md's rows 5, 7, 8, 9, 10, 11, 13, 14 at the reference's values."""
    for name in ('difnet_r50_voc_reference.py', 'deeplabv2_r50_voc_reference.py'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', 'difnet', name))
        pre = cfg.model.data_preprocessor
        assert pre.mean == [104.00698793, 116.66876762, 122.67891434]
        assert pre.std == [1.0, 1.0, 1.0] and not pre.bgr_to_rgb  # row 7
        backbones = [cfg.model.backbone] + ([cfg.model.neck.backbone]
                                            if 'neck' in cfg.model else [])
        for bb in backbones:
            assert (bb.style, bb.basic_block_dilation, bb.stem_ceil_mode) == (
                'caffe', 'conv2', True)  # rows 8-10
            assert bb.norm_cfg.type == 'BN'  # row 11
        assert cfg.model.decode_head.norm_cfg.type == 'BN'
        for ds in cfg.train_dataloader.dataset.datasets:  # rows 5 and 14
            pad = next(t for t in ds.pipeline if t['type'] == 'RandomPad')
            assert pad['pad_val'] == dict(img=0, seg=0)
        assert cfg.default_hooks.checkpoint.save_best == 'mIoU'  # row 13
        assert cfg.train_cfg.val_interval == 662
        assert cfg.model.decode_head.loss_decode.avg_non_ignore  # row 6
        assert pre.type == 'DifNetDataPreProcessor' and pre.test_cfg.size == (505, 505)


@pytest.mark.slow
def test_difnet_r50_voc_trains_one_iteration(tmp_path):
    data = tmp_path / 'data'
    generate_synthetic_voc(str(data), num_train=4, num_val=1, size=160, seed=3)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'difnet', 'difnet_r50_voc.py'))
    root = str(data / 'VOCdevkit' / 'VOC2012')
    for ds in cfg.train_dataloader.dataset.datasets:
        ds.data_root = root
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    for bb in (cfg.model.backbone, cfg.model.neck.backbone):
        bb.init_cfg = None  # the ImageNet weights cannot be downloaded here
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1, val_interval=100)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, by_epoch=False)
    cfg.work_dir = str(tmp_path / 'work')
    prepare_for_device(cfg, 'none')
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    # the reference's classifier init, N(0, √(2/(9·21))) on 4 × 9 × 2048 inputs, gives logits
    # of std ≈ 28 × rms(features), so the first loss is well above log(21); finite, bounded
    assert 0 < loss < 100
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_1.pth'))
    lr = runner.message_hub.get_scalar('train/lr').current()
    assert lr == pytest.approx(2.5e-3)  # the paper's effective base rate


def test_reference_train_pipeline_pads_at_a_random_offset(data_dir):
    """The reference protocol's train pipeline on a real file: 64×64 images scaled by at most
    1.4 are padded to 321×321 at an offset drawn per sample (row 14), the label with 0 (row 5).
    """
    import numpy as np
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'difnet', 'deeplabv2_r50_voc_reference.py'))
    pipeline = Compose(cfg.train_dataloader.dataset.datasets[0].pipeline)
    voc = osp.join(data_dir, 'VOCdevkit', 'VOC2012')
    np.random.seed(0)
    tops = set()
    for _ in range(20):
        out = pipeline(dict(img_path=osp.join(voc, 'JPEGImages', 'syn_train_00000.jpg'),
                            seg_map_path=osp.join(voc, 'SegmentationClass',
                                                  'syn_train_00000.png'),
                            reduce_zero_label=False, seg_fields=[]))
        img = out['inputs']
        assert img.shape == (3, 321, 321)
        rows = torch.nonzero(img.amax((0, 2)) > 0).flatten()  # the first non-black row
        tops.add(int(rows[0]))
        assert 0 < out['data_samples'].gt_sem_seg.data.max() < 255  # no 255: label pad is 0
    assert len(tops) > 10, tops
