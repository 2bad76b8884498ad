"""Small DifNet / DeepLabV2 models for CPU tests, built from the project's base configs."""
import copy
import os.path as osp

from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmseg_difnet  # noqa: F401  (registers the modules)
from mmseg.registry import MODELS

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


def build(cfg):
    model = MODELS.build(cfg)
    model.init_weights()
    return model
