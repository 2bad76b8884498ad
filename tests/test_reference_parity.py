"""Reference parity (docs/reference_differences.md).

An independent re-implementation of DifNet-18 and Sim-Deeplab-18 in the reference protocol,
written from the README's table and the paper with ``torch.nn`` only, receives the plugin's
weights one by one and must give the same x, M, s, y_1..y_5 and logits. Then the initial
statistics of Ψ, H and the classifier, and the validation padding.
"""
import copy
import math
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from helpers import ROOT, build, difnet_cfg
from mmengine.config import Config
from mmseg.structures import SegDataSample

CFG = osp.join(ROOT, 'configs', 'difnet')
K = 5  # classes


# ---- the independent re-implementation (torch.nn only) -----------------------------------
class RefBasicBlock(nn.Module):
    """Stride on conv1, dilation on conv2 (rows 9)."""

    def __init__(self, c_in, planes, stride, dilation, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class RefResNet18(nn.Module):
    """ResNet-18 at output stride 8: strides (1, 2, 1, 1), dilations (1, 1, 2, 4), stem
    max-pool with ceil_mode (row 10). Returns the four stages."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)
        c_in, layers = 64, []
        for planes, stride, dil in ((64, 1, 1), (128, 2, 1), (256, 1, 2), (512, 1, 4)):
            down = None
            if stride != 1 or c_in != planes:
                down = nn.Sequential(nn.Conv2d(c_in, planes, 1, stride, bias=False),
                                     nn.BatchNorm2d(planes))
            layers.append(nn.Sequential(RefBasicBlock(c_in, planes, stride, dil, down),
                                        RefBasicBlock(planes, planes, 1, dil, None)))
            c_in = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        out = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            out.append(x)
        return out


class RefASPPv2(nn.Module):
    def __init__(self, c_in, k):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c_in, k, 3, 1, d, d) for d in (6, 12, 18, 24))

    def forward(self, x):
        return sum(conv(x) for conv in self.convs)


class RefMask(nn.Module):
    """H: BN - ReLU - conv5×5(K→8) - BN - ReLU - conv5×5(8→4) - BN - ReLU - conv5×5(4→1) -
    sigmoid, no biases (row 2)."""

    def __init__(self, k):
        super().__init__()
        self.bn0, self.bn1, self.bn2 = nn.BatchNorm2d(k), nn.BatchNorm2d(8), nn.BatchNorm2d(4)
        self.conv1 = nn.Conv2d(k, 8, 5, 1, 2, bias=False)
        self.conv2 = nn.Conv2d(8, 4, 5, 1, 2, bias=False)
        self.conv3 = nn.Conv2d(4, 1, 5, 1, 2, bias=False)

    def forward(self, x):
        x = F.relu(self.bn0(x))
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return torch.sigmoid(self.conv3(x))


class RefWalk(nn.Module):
    """Eq. 3-5 with the reference's parametrisation μ = σ(−α), β = σ(−b)."""

    def __init__(self, c_in):
        super().__init__()
        self.conv = nn.Conv2d(c_in, 64, 1)
        self.bn = nn.BatchNorm2d(64)
        self.alpha = nn.Parameter(torch.zeros(1))
        self.b = nn.Parameter(torch.zeros(1))

    def forward(self, f, y, s):
        B, k, h, w = y.shape
        psi = F.adaptive_max_pool2d(self.bn(self.conv(f)), (h, w)).flatten(2)  # (B, 64, N)
        P = torch.softmax(psi.transpose(1, 2) @ psi, dim=2)  # (B, N, N)
        Py = (P @ y.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(B, k, h, w)
        mu, beta = torch.sigmoid(-self.alpha), torch.sigmoid(-self.b)
        return beta * (mu * Py + (1 - mu) * s) + (1 - beta) * y


class RefSimDeeplab18(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.seed = RefResNet18()
        self.aspp = RefASPPv2(512, k)

    def forward(self, img):
        return self.aspp(self.seed(img)[3])


class RefDifNet18(RefSimDeeplab18):
    def __init__(self, k):
        super().__init__(k)
        self.dif = RefResNet18()
        self.mask = RefMask(k)
        self.walks = nn.ModuleList(RefWalk(c) for c in (3, 64, 128, 256, 512))

    def forward(self, img):
        x = super().forward(img)
        M = self.mask(x)
        s = x * M
        levels = [img, *self.dif(img)]
        ys, y = [], s
        for walk, f in zip(self.walks, levels):
            y = walk(f, y, s)
            ys.append(y)
        return x, M, s, ys


# ---- the weight mapping -----------------------------------------------------------------
_MASK = {'bn0': '0', 'conv1': '2', 'bn1': '3', 'conv2': '5', 'bn2': '6', 'conv3': '8'}


def plugin_key(ref_key):
    """The plugin's state-dict key holding the reference's parameter ``ref_key``."""
    head, rest = ref_key.split('.', 1)
    if head == 'seed':
        return 'backbone.' + rest
    if head == 'dif':
        return 'neck.backbone.' + rest
    if head == 'aspp':
        return 'decode_head.conv_seg.' + rest.split('.', 1)[1]
    if head == 'mask':
        module, name = rest.split('.')
        return f'decode_head.importance.{_MASK[module]}.{name}'
    t, module, name = rest.split('.') + [''] * (3 - len(rest.split('.')))
    if module in ('alpha', 'b'):
        return f'decode_head.walks.{t}.' + ('mu_logit' if module == 'alpha' else 'beta_logit')
    return f'decode_head.walks.{t}.psi.{module}.{name}'


def load_plugin_weights(ref, plugin):
    src = plugin.state_dict()
    dst = ref.state_dict()
    used = set()
    for key in dst:
        pk = plugin_key(key)
        value = src[pk]
        if key.endswith(('alpha', '.b')):
            value = -value.reshape(1)  # μ = σ(−α) = σ(mu_logit)
        assert dst[key].shape == value.shape, (key, pk)
        dst[key] = value.clone()
        used.add(pk)
    ref.load_state_dict(dst)
    assert used == set(src), f'plugin tensors not mapped: {sorted(set(src) - used)}'


def randomise(model, seed=0):
    """BN statistics and affine parameters, μ and β away from their defaults."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(0.2 * torch.randn(m.num_features, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
                m.weight.copy_(0.5 + torch.rand(m.num_features, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.num_features, generator=g))
        for name, p in model.named_parameters():
            if name.endswith(('mu_logit', 'beta_logit')):
                p.copy_(2 * torch.randn((), generator=g))


def reference_protocol_cfg(name):
    cfg = Config.fromfile(osp.join(CFG, name))
    model = copy.deepcopy(cfg.model)
    r18 = dict(depth=18, init_cfg=None)
    model.backbone.update(r18)
    if 'neck' in model:
        model.neck.backbone.update(r18)
        model.decode_head.sim_channels = (3, 64, 128, 256, 512)
    model.decode_head.update(in_channels=512, num_classes=K)
    return model


@pytest.fixture(scope='module')
def difnet_pair():
    torch.manual_seed(0)
    plugin = build(reference_protocol_cfg('difnet_r50_voc_reference.py'))
    randomise(plugin)
    ref = RefDifNet18(K)
    load_plugin_weights(ref, plugin)
    return plugin.eval(), ref.eval(), copy.deepcopy(ref).double().eval()


# odd; even, where the stem's ceil_mode adds a row and a column: N = 34·33 > 1024 (chunks)
GRIDS = {(97, 83): (13, 11), (264, 256): (34, 33)}


@pytest.mark.parametrize('size', list(GRIDS))
@pytest.mark.parametrize('impl', ['auto', 'fused', 'chunked', 'dense'])
def test_difnet18_equals_the_reference_protocol(difnet_pair, size, impl):
    """The seed (x, M, s) is computed as the reference computes it: equal to 1e-5. The walks'
    Ψ is computed at inference with BN folded into its conv, whose rounding the
    unscaled softmax(ΨΨᵀ) amplifies: y_t and the logits are held to the reference's own
    float32 error, measured against the reference in float64 (the plugin's is smaller)."""
    plugin, ref, ref64 = difnet_pair
    for walk in plugin.decode_head.walks:
        walk.impl = impl
    img = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        x, M, s, ys = ref(img)
        ys64 = ref64(img.double())[3]
        tr = plugin.decode_head.trace(plugin.extract_feat(img))
        logits = plugin(img, mode='tensor')
    assert x.shape[-2:] == GRIDS[size]
    scale = float(x.abs().max())
    for name, a, b in [('x', tr.x, x), ('M', tr.M, M), ('s', tr.s, s)]:
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5 * scale, msg=name)
    for name, a, b, b64 in [('logits', logits, ys[-1], ys64[-1]),
                            *((f'y_{t + 1}', *abc) for t, abc in enumerate(zip(tr.y, ys, ys64)))]:
        own = float((b - b64).abs().max())  # the reference's own float32 error
        err = float((a.double() - b64).abs().max())
        assert err <= max(1e-5 * scale, 1.5 * own), (name, err, own)
    assert not torch.allclose(ys[0], ys[-1])  # the walks do something


@pytest.mark.parametrize('size', [(97, 83), (96, 80)])
def test_sim_deeplab18_equals_the_reference_protocol(size):
    torch.manual_seed(0)
    plugin = build(reference_protocol_cfg('deeplabv2_r50_voc_reference.py'))
    randomise(plugin)
    ref = RefSimDeeplab18(K)
    load_plugin_weights(ref, plugin)
    img = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(plugin.eval()(img, mode='tensor'), ref.eval()(img),
                                   rtol=1e-5, atol=1e-5)
    plugin.train(), ref.train()  # batch statistics too
    torch.testing.assert_close(plugin(img, mode='tensor'), ref(img), rtol=1e-4, atol=1e-4)


def test_reference_protocol_input_is_bgr_minus_the_caffe_mean():
    cfg = reference_protocol_cfg('difnet_r50_voc_reference.py')
    pre = build(cfg).data_preprocessor
    raw = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)  # BGR, as mmcv loads it
    out = pre(dict(inputs=[raw], data_samples=[SegDataSample()]), False)
    img = out['inputs'][0]  # padded black and centred to 505×505 (row 4)
    left, right, top, bottom = out['data_samples'][0].img_padding_size
    assert img.shape == (3, 505, 505) and (left, top) == (245, 245)
    mean = torch.tensor([104.00698793, 116.66876762, 122.67891434]).view(3, 1, 1)
    torch.testing.assert_close(img[:, top:top + 16, left:left + 16], raw.float() - mean)
    torch.testing.assert_close(img[:, :1, :1], -mean)  # black, before normalisation


# ---- initial statistics --------------------------------------------------------------------
def _uniform_default(conv):
    """PyTorch's default conv init: weights U(±1/√fan_in), variance 1/(3 fan_in)."""
    fan_in = conv.weight[0].numel()
    w = conv.weight.detach()
    bound = 1 / math.sqrt(fan_in)
    assert w.abs().max() <= bound
    n = w.numel()
    var = w.pow(2).mean().item()
    # sample variance of a uniform law: relative standard deviation √(0.8 / n)
    assert abs(var * 3 * fan_in - 1) < 5 * math.sqrt(0.8 / n) + 1e-6, (var * 3 * fan_in, n)
    if conv.bias is not None:
        assert conv.bias.abs().max() <= bound


def test_initial_statistics_match_the_reference():
    torch.manual_seed(0)
    head = build(difnet_cfg(depth=18, num_classes=21)).decode_head
    for walk in head.walks:  # Ψ: kaiming_uniform(a=√5), row ‖w‖² ≈ 1/3
        _uniform_default(walk.psi.conv)
        rows = walk.psi.conv.weight.detach().flatten(1).pow(2).sum(1)
        if walk.in_channels >= 64:
            assert abs(rows.mean().item() - 1 / 3) < 0.05
    convs = [m for m in head.importance if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3 and all(c.bias is None for c in convs)  # no bias (row 2)
    for conv in convs:
        _uniform_default(conv)
    for conv in head.conv_seg:  # N(0, √(2 / (9K))), bias U(±1/√(9C)) (row 3)
        w = conv.weight.detach()
        assert abs(w.std().item() / math.sqrt(2 / (9 * 21)) - 1) < 0.02
        assert abs(w.mean().item()) < 0.005
        assert conv.bias.abs().max() <= 1 / math.sqrt(9 * 512)
        assert conv.bias.abs().max() > 0.5 / math.sqrt(9 * 512)  # not zeroed


def _norms(head):
    return [m for m in [*head.importance, *(w.psi.bn for w in head.walks)]
            if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def test_norms_of_H_and_psi_start_as_pytorch_04():
    """γ ~ U(0, 1), β = 0 (row 15): the reference's Mask and Diffuse BNs, which its init loop
    never reaches, under PyTorch 0.4's default."""
    torch.manual_seed(0)
    head = build(difnet_cfg(depth=18, num_classes=21)).decode_head
    norms = _norms(head)
    assert [m.num_features for m in norms] == [21, 8, 4] + [64] * 5
    gamma = torch.cat([m.weight.detach() for m in norms])  # 353 values
    assert gamma.min() >= 0 and gamma.max() <= 1
    # E[γ²] = 1/3; the std of the mean of 353 squares is √(4/45 / 353) ≈ 0.016
    assert abs(gamma.pow(2).mean().item() - 1 / 3) < 0.05
    assert abs(gamma.mean().item() - 1 / 2) < 0.05
    assert all(m.bias.abs().max() == 0 for m in norms)
    cfg = difnet_cfg(depth=18, num_classes=21)
    cfg.decode_head.norm_weight_init = 'ones'  # the switch back to PyTorch >= 1.0
    for m in _norms(build(cfg).decode_head):
        assert torch.equal(m.weight.detach(), torch.ones(m.num_features))


def test_norm_weight_init_rejects_an_unknown_value():
    cfg = difnet_cfg(depth=18)
    cfg.decode_head.norm_weight_init = 'kaiming'
    with pytest.raises(ValueError, match="norm_weight_init='kaiming'.*'uniform'"):
        build(cfg)


def test_init_weights_keeps_the_reference_init():
    """mmengine's init_weights (run by the Runner) must not re-initialise them."""
    torch.manual_seed(0)
    model = build(difnet_cfg(depth=18))
    before = {k: v.clone() for k, v in model.decode_head.state_dict().items()}
    model.init_weights()
    for k, v in model.decode_head.state_dict().items():
        torch.testing.assert_close(v, before[k], msg=k)


# ---- validation padding ----------------------------------------------------------------------
@pytest.mark.parametrize('position', ['centre', 'bottom_right'])
def test_validation_padding_equals_training_and_stays_aligned(position):
    import mmcv.transforms  # noqa: F401  (registers mmcv's Pad, which the pipelines use)
    from mmseg.registry import TRANSFORMS
    torch.manual_seed(0)
    cfg = difnet_cfg(depth=18, num_classes=4)
    cfg.data_preprocessor.update(test_cfg=dict(size=(40, 44)), test_pad_position=position)
    model = build(cfg).eval()
    pre = model.data_preprocessor
    rng = np.random.default_rng(0)
    h, w = 25, 31  # odd margins: 15 and 13
    label = rng.integers(0, 4, (h, w))  # a one-pixel shift changes it
    raw = np.zeros((h, w, 3), np.uint8)
    raw[..., 0] = 60 * label + 20  # the label is written into the blue channel
    sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
    out = pre(dict(inputs=[torch.from_numpy(raw).permute(2, 0, 1)], data_samples=[sample]),
              False)
    img = out['inputs'][0]  # (3, 40, 44)
    left, right, top, bottom = out['data_samples'][0].img_padding_size
    assert img.shape == (3, 40, 44) and (left + right, top + bottom) == (13, 15)
    if position == 'centre':
        assert (left, top) == (7, 8)
    # training pads the crop black with the pipeline's Pad, then normalises
    crop = TRANSFORMS.build(dict(type='Pad', size=(40, 44), pad_val=dict(img=0, seg=255)))(
        dict(img=raw, gt_seg_map=label.astype(np.uint8)))['img']
    train = pre(dict(inputs=[torch.from_numpy(crop).permute(2, 0, 1)],
                     data_samples=[SegDataSample()]), True)['inputs'][0]
    torch.testing.assert_close(img[:, -1, -1], train[:, -1, -1])  # the same padding value
    pad_mask = torch.ones(40, 44, dtype=torch.bool)
    pad_mask[top:top + h, left:left + w] = False
    assert torch.all(img[:, pad_mask] == train[:, -1:, -1].expand(3, int(pad_mask.sum())))
    # logits that read the label back from the padded image: the prediction must equal it
    blue = img[2] * pre.std[2] + pre.mean[2]  # channel order is RGB after bgr_to_rgb
    decoded = ((blue - 20) / 60).round().clamp(0, 3).long()
    logits = F.one_hot(decoded, 4).permute(2, 0, 1)[None].float()
    pred = model.postprocess_result(logits, out['data_samples'])[0].pred_sem_seg.data[0]
    assert pred.shape == (h, w)
    assert torch.equal(pred, torch.from_numpy(label))


# ---- training crop padding at a random offset (row 14) --------------------------------------
def test_random_pad_places_the_crop_as_the_reference_draws():
    from mmseg.registry import TRANSFORMS
    pad = TRANSFORMS.build(dict(type='RandomPad', size=(12, 10), pad_val=dict(img=0, seg=0)))
    rng = np.random.default_rng(0)
    h, w = 5, 12  # slack 5 rows, no column slack
    img = rng.integers(1, 256, (h, w, 3)).astype(np.uint8)  # 0 only in the padding
    seg = rng.integers(1, 21, (h, w)).astype(np.uint8)
    np.random.seed(0)
    tops = []
    for _ in range(2000):
        out = pad(dict(img=img.copy(), gt_seg_map=seg.copy(), img_shape=(h, w)))
        assert out['img'].shape == (10, 12, 3) and out['gt_seg_map'].shape == (10, 12)
        assert out['img_shape'] == (10, 12) and out['pad_shape'] == (10, 12, 3)
        rows = np.flatnonzero(out['gt_seg_map'].any(1))
        top = int(rows[0])
        assert rows.tolist() == list(range(top, top + h))
        assert np.array_equal(out['img'][top:top + h], img)  # the crop, unshifted sideways
        assert np.array_equal(out['gt_seg_map'][top:top + h], seg)
        assert out['img'].sum() == img.sum() and out['gt_seg_map'].sum() == seg.sum()
        tops.append(top)
    # np.random.randint(0, slack) (dataset.py:62): every offset 0..4, never 5, near uniform
    counts = np.bincount(tops, minlength=6)
    assert counts[5] == 0 and all(300 < c < 500 for c in counts[:5]), counts
    # the label padding value of the default (255, ignored) and a side without slack
    out = TRANSFORMS.build(dict(type='RandomPad', size=(12, 10)))(
        dict(img=img.copy(), gt_seg_map=seg.copy()))
    assert set(np.unique(out['gt_seg_map'])) - set(np.unique(seg)) == {255}
    with pytest.raises(ValueError, match=r'got an image of 12×5 .*RandomCrop'):
        TRANSFORMS.build(dict(type='RandomPad', size=(11, 10)))(dict(img=img, img_path='a'))


# ---- one training step (the reference's main.py:73-76, 93-107) --------------------------------
def test_one_training_step_equals_the_reference():
    """Loss, every parameter's gradient and the weights after one SGD step of DifNet-18 in the
    reference protocol equal the authors' training step: one parameter group with weight decay
    on every parameter (main.py:74), lr 2.5e-4 × 10 by its LambdaLR with poly 0.9 (main.py:75,
    main.sh), the logits resized bilinearly to the input (main.py:98) and SegLoss(255), a
    cross-entropy averaged over the labelled pixels (basic_function.py:57-66)."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import PARAM_SCHEDULERS
    from mmengine.structures import PixelData
    torch.manual_seed(0)
    cfg = Config.fromfile(osp.join(CFG, 'difnet_r50_voc_reference.py'))
    plugin = build(reference_protocol_cfg('difnet_r50_voc_reference.py'))
    randomise(plugin)
    with torch.no_grad():  # soft P_t (logits of order 1), so a gradient reaches Ψ and the
        for walk in plugin.decode_head.walks:  # similarity branch: theirs are compared too
            walk.psi.bn.weight.mul_(0.1)
    ref = RefDifNet18(K)
    load_plugin_weights(ref, plugin)
    plugin.train(), ref.train()
    g = torch.Generator().manual_seed(3)
    img = torch.randn(2, 3, 65, 65, generator=g)  # already normalised: both see these values
    gt = torch.randint(0, K, (2, 65, 65), generator=g)
    gt[:, :3] = 255  # unlabelled rows
    samples = []
    for label in gt:
        sample = SegDataSample(metainfo=dict(img_shape=(65, 65), pad_shape=(65, 65),
                                             ori_shape=(65, 65)))
        sample.gt_sem_seg = PixelData(data=label[None])
        samples.append(sample)
    # the plugin: mmengine's optimiser wrapper and poly scheduler from the config
    wrapper = build_optim_wrapper(plugin, cfg.optim_wrapper)
    assert len(wrapper.optimizer.param_groups) == 1
    sched = [PARAM_SCHEDULERS.build(dict(s, _scope_='mmengine'),
                                    default_args=dict(optimizer=wrapper.optimizer))
             for s in cfg.param_scheduler]
    assert len(sched) == 1
    start = {k: p.detach().clone() for k, p in plugin.named_parameters()}
    losses = plugin.loss(img, samples)
    loss, _ = plugin.parse_losses(losses)
    wrapper.backward(loss)  # update_params, with the gradients kept to compare
    plugin_grads = {k: p.grad.clone() for k, p in plugin.named_parameters()}
    wrapper.step()
    # the reference, as main.py writes its step
    max_step = cfg.param_scheduler[0]['end']
    opt = torch.optim.SGD(ref.parameters(), lr=2.5e-4, momentum=0.9, weight_decay=5e-4)
    lr_ref = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_lambda=lambda step: 10 * ((1.0 - float(step) / max_step) ** 0.9))
    pred = ref(img)[3][-1]
    pred_up = F.interpolate(pred, size=(65, 65), mode='bilinear', align_corners=False)
    ref_loss = nn.CrossEntropyLoss(ignore_index=255)(pred_up, gt)
    with pytest.warns(UserWarning, match=r'before `optimizer\.step\(\)`'):
        lr_ref.step()  # main.py:104: before optimizer.step(), so step 1 uses λ(1)
    opt.zero_grad()
    ref_loss.backward()
    grads = {k: p.grad.clone() for k, p in ref.named_parameters()}
    opt.step()
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-6)
    # the learning rates: the plugin's first step λ(0), the reference's λ(1) (row 16)
    assert wrapper.get_lr()['lr'][0] == pytest.approx(2.5e-3, rel=1e-12)
    assert opt.param_groups[0]['lr'] == pytest.approx(2.5e-3 * (1 - 1 / max_step) ** 0.9)
    params = dict(plugin.named_parameters())
    lr_r = opt.param_groups[0]['lr']
    for key, p_ref in ref.named_parameters():
        pk = plugin_key(key)
        flip = -1.0 if key.endswith(('alpha', '.b')) else 1.0  # μ = σ(−α) = σ(mu_logit)
        p = params[pk]
        g_p = flip * plugin_grads[pk].reshape(p_ref.shape)
        # float32 through two ResNets in train-mode BN: 1e-4 of the tensor's largest entry
        # (the Ψ convs' biases, which BN cancels, have a gradient of rounding noise only)
        scale = float(grads[key].abs().max())
        assert float((g_p - grads[key]).abs().max()) <= 1e-4 * scale + 1e-7, key
        if key.startswith(('dif.', 'walks.')) and key.endswith('weight'):
            assert scale > 1e-5, key  # the similarity branch learns in this step
        w0 = flip * start[pk].reshape(p_ref.shape)  # both started here
        # SGD's first step (momentum buffer = g + wd·w): w0 − lr (g + wd·w0), each with its lr
        torch.testing.assert_close(flip * p.detach().reshape(p_ref.shape),
                                   w0 - 2.5e-3 * (g_p + 5e-4 * w0), msg=key)
        torch.testing.assert_close(p_ref.detach(), w0 - lr_r * (grads[key] + 5e-4 * w0),
                                   msg=key)
        assert float((flip * p.detach().reshape(p_ref.shape) - p_ref.detach()).abs().max()) \
            <= 1e-5 * float(w0.abs().max()) + 1e-7, key  # the two steps' weights
