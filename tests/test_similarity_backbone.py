"""SimilarityBackbone: levels, mmpretrain backbones through the registry scope."""
import pytest
import torch
from helpers import build, difnet_cfg
from mmseg.registry import MODELS


def test_levels_are_image_and_stages():
    neck = MODELS.build(dict(type='SimilarityBackbone',
                             backbone=dict(type='ResNet', depth=18, strides=(1, 2, 1, 1),
                                           dilations=(1, 1, 2, 4))))
    image = torch.randn(2, 3, 65, 49)
    seed = [torch.randn(2, 1, 1, 1)] * 4
    out = neck(seed, image)
    assert len(out) == 9 and all(o is s for o, s in zip(out[:4], seed))
    assert out[4] is image
    assert [tuple(o.shape[1:]) for o in out[5:]] == [(64, 17, 13), (128, 9, 7), (256, 9, 7),
                                                     (512, 9, 7)]
    neck.levels = (0, 2, 4)
    assert [o.shape[1] for o in neck(seed, image)[4:]] == [3, 128, 512]
    neck.levels = (0, 6)
    with pytest.raises(ValueError, match=r'levels \[6\] \(neck.levels\) do not exist'):
        neck(seed, image)


def test_mmpretrain_backbone_through_the_registry_scope():
    sim = dict(type='mmpretrain.ResNet', depth=18, out_indices=(0, 1, 2, 3),
               strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))
    neck = MODELS.build(dict(type='SimilarityBackbone', backbone=sim))
    assert type(neck.backbone).__module__.startswith('mmpretrain.')
    mmseg_neck = MODELS.build(dict(type='SimilarityBackbone',
                                   backbone=dict(type='ResNet', depth=18)))
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(neck) == n(mmseg_neck) == 11176512  # ResNet-18 without its fc layer

    cfg = difnet_cfg(depth=18)
    cfg.neck.backbone = sim
    model = build(cfg).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 57, 57), mode='tensor').shape == (1, 4, 8, 8)
