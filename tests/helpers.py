"""Shared helpers of the tests (plain functions; the shared fixtures are in conftest.py):
small DifNet / DeepLabV2 models built from the project's base configs, a real mmseg batch,
and the demo config shrunk to a few CPU iterations."""
import copy
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_difnet  # noqa: F401  (registers the modules)

init_default_scope('mmseg')  # as mmseg's default_runtime: the data preprocessor is mmseg's

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASE = osp.join(ROOT, 'configs', '_base_', 'models')
RESNET_CHANNELS = {18: (64, 128, 256, 512), 34: (64, 128, 256, 512),
                   50: (256, 512, 1024, 2048), 101: (256, 512, 1024, 2048)}


def _tiny(cfg):
    cfg.data_preprocessor.size_divisor = 1  # the tests' batches hold equal sizes
    return cfg


def _resnet(cfg, depth):
    # zero_init_residual zeroes the last BN of every block, which blocks the gradient of the
    # block's other layers at initialisation; ImageNet weights, which the configs load, have
    # no such zeros.
    cfg.update(depth=depth, norm_cfg=dict(type='BN', requires_grad=True), init_cfg=None,
               zero_init_residual=False)
    return cfg


def difnet_cfg(depth=18, num_classes=4, sim_depth=None, levels=(0, 1, 2, 3, 4)):
    """DifNet model config from configs/_base_/models/difnet_r50-d8.py, with plain BN and
    no pretrained weights (no network in tests)."""
    cfg = copy.deepcopy(Config.fromfile(osp.join(BASE, 'difnet_r50-d8.py')).model)
    sim_depth = sim_depth or depth
    _resnet(cfg.backbone, depth)
    _resnet(cfg.neck.backbone, sim_depth)
    cfg.neck.levels = levels
    head = cfg.decode_head
    all_levels = (3, *RESNET_CHANNELS[sim_depth])
    head.update(in_channels=RESNET_CHANNELS[depth][-1], num_classes=num_classes,
                sim_channels=tuple(all_levels[i] for i in levels),
                norm_cfg=dict(type='BN', requires_grad=True))
    return _tiny(cfg)


def deeplabv2_cfg(depth=18, num_classes=4):
    cfg = copy.deepcopy(Config.fromfile(osp.join(BASE, 'deeplabv2_r50-d8.py')).model)
    _resnet(cfg.backbone, depth)
    cfg.decode_head.update(in_channels=RESNET_CHANNELS[depth][-1], num_classes=num_classes,
                           norm_cfg=dict(type='BN', requires_grad=True))
    return _tiny(cfg)


SEED_HEADS = {  # tiny mmseg decode heads on a ResNet-18's stages (64, 128, 256, 512 channels)
    'DepthwiseSeparableASPPHead': dict(in_channels=512, in_index=3, channels=16,
                                       dilations=(1, 2), c1_in_channels=64, c1_channels=8),
    'PSPHead': dict(in_channels=512, in_index=3, channels=16, pool_scales=(1, 2)),
    'FCNHead': dict(in_channels=512, in_index=3, channels=16, num_convs=1),
    'SegformerHead': dict(in_channels=[64, 128, 256, 512], in_index=[0, 1, 2, 3], channels=16),
}


def plain_cfg(seed_head='PSPHead', num_classes=4, aux=True):
    """A plain mmseg model: ResNet-18-D8 + the seed head type of ``SEED_HEADS`` (+ FCNHead
    auxiliary head), as mmseg's zoo configs, tiny and without pretrained weights."""
    cfg = deeplabv2_cfg(depth=18, num_classes=num_classes)
    cfg.decode_head = dict(type=seed_head, num_classes=num_classes, dropout_ratio=0.1,
                           norm_cfg=dict(type='BN', requires_grad=True), align_corners=False,
                           **SEED_HEADS[seed_head])
    if aux:
        cfg.auxiliary_head = dict(type='FCNHead', in_channels=256, in_index=2, channels=8,
                                  num_convs=1, num_classes=num_classes,
                                  norm_cfg=dict(type='BN', requires_grad=True),
                                  loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4))
    return cfg


def diffusion_cfg(seed_head='PSPHead', num_classes=4, similarity='shared', aux=True):
    """``plain_cfg``'s model with diffusion: its decode head the seed head of a DiffusionHead,
    five walks on the image and the four stages of the model's own backbone ('shared') or of a
    second ResNet-18 ('backbone')."""
    cfg = plain_cfg(seed_head, num_classes, aux)
    cfg.type = 'DifNetEncoderDecoder'
    if similarity == 'shared':
        cfg.neck = dict(type='SharedSimilarity', levels=(0, 1, 2, 3, 4))
    else:
        cfg.neck = dict(type='SimilarityBackbone', backbone=copy.deepcopy(cfg.backbone),
                        levels=(0, 1, 2, 3, 4))
    cfg.decode_head = dict(type='DiffusionHead', seed_head=cfg.decode_head,
                           sim_channels=(3, *RESNET_CHANNELS[18]),
                           norm_cfg=dict(type='BN', requires_grad=True))
    return cfg


def logged(fn):
    """The messages mmengine's current logger gets while ``fn()`` runs, and fn's result."""
    import logging

    from mmengine.logging import MMLogger
    messages = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    logger, handler = MMLogger.get_current_instance(), Collect()
    logger.addHandler(handler)
    try:
        result = fn()
    finally:
        logger.removeHandler(handler)
    return messages, result


def build(cfg):
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def batch(model, sizes, num_classes=4, seed=0):
    """A real mmseg batch through the model's data preprocessor."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for H, W in sizes:
        inputs.append(torch.randint(0, 256, (3, H, W), generator=g, dtype=torch.uint8))
        sample = SegDataSample()
        label = torch.randint(0, num_classes, (1, H, W), generator=g)
        label[:, :2] = 255  # ignored pixels
        sample.gt_sem_seg = PixelData(data=label)
        sample.set_metainfo(dict(img_shape=(H, W), ori_shape=(H, W), pad_shape=(H, W)))
        samples.append(sample)
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)


DEMO = osp.join(ROOT, 'configs', 'difnet', 'difnet_r18_synthetic.py')


def tiny_cfg(data_dir, work_dir, iters=3):
    cfg = Config.fromfile(DEMO)
    root = osp.join(data_dir, 'VOCdevkit', 'VOC2012')
    for ds in cfg.train_dataloader.dataset.datasets:
        ds.data_root = root
    cfg.val_dataloader.dataset.data_root = root
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.update(max_iters=iters, val_interval=iters)
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 1
    cfg.norm_cfg = None
    cfg.model.data_preprocessor.size = (64, 64)  # the tests' images
    # one process on CPU: plain BN (the tools do the same when no GPU is present)
    for bn in (cfg.model.backbone, cfg.model.neck.backbone, cfg.model.decode_head):
        bn.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.work_dir = str(work_dir)
    return cfg


def generate_camvid_like(root, counts=(('train', 4), ('val', 2), ('test', 2)), size=(48, 64),
                         seed=0):
    """A tiny dataset in CamVid's SegNet layout (``train/``, ``trainannot/`` ...): random
    frames, labels of horizontal bands of classes 0-10 with void (11) stripes."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    H, W = size
    for split, n in counts:
        for d in (split, split + 'annot'):
            os.makedirs(osp.join(root, d), exist_ok=True)
        for i in range(n):
            label = np.repeat(rng.integers(0, 11, size=(H // 8, 1)), 8, axis=0)
            label = np.repeat(label, W, axis=1).astype(np.uint8)
            label[:, ::16] = 11  # void
            image = rng.integers(0, 256, size=(H, W, 3), dtype=np.uint8)
            name = f'{split}_{i:03d}.png'
            Image.fromarray(image).save(osp.join(root, split, name))
            Image.fromarray(label).save(osp.join(root, split + 'annot', name))
    return root


class Payload:
    """Pickles as a call of os.system that touches ``marker``: a checkpoint holding it runs
    code when unpickled without weights_only (the marker appears)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )
