"""DifNet as an mmseg model: gradients of every parameter, logit shapes, mmseg's modes,
intermediates, wiring errors and parameter counts against DeepLabV2."""
import pytest
import torch
from helpers import batch, build, deeplabv2_cfg, difnet_cfg


def test_every_parameter_gets_a_finite_nonzero_gradient():
    torch.manual_seed(0)
    model = build(difnet_cfg(depth=18)).train()
    data = batch(model, [(57, 57), (57, 57)])
    losses = model(**data, mode='loss')
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg'}  # only y_T is supervised
    losses['decode.loss_ce'].backward()
    groups = {'backbone.': 0, 'neck.backbone.': 0, 'decode_head.conv_seg.': 0,
              'decode_head.importance.': 0, 'decode_head.walks.': 0}
    for name, p in model.named_parameters():
        assert p.grad is not None, f'{name} has no gradient'
        assert torch.isfinite(p.grad).all(), f'{name} has a non-finite gradient'
        assert p.grad.abs().sum() > 0, f'{name} has an all-zero gradient'
        for prefix in groups:
            groups[prefix] += name.startswith(prefix)
    head = model.decode_head
    for t, walk in enumerate(head.walks):
        for p in (walk.mu_logit, walk.beta_logit, walk.psi.conv.weight, walk.psi.bn.weight):
            assert p.grad.abs().sum() > 0, f'walk {t}'
    assert all(groups.values()), groups
    assert len(head.walks) == 5


@pytest.mark.parametrize('size,grid', [((321, 321), (41, 41)), ((505, 505), (64, 64)),
                                       ((97, 130), (13, 17)), ((75, 33), (10, 5))])
def test_logit_shapes(size, grid):
    model = build(difnet_cfg(depth=18)).eval()
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        logits = model(x, mode='tensor')  # (B, K, h, w) before resizing
        assert logits.shape == (1, 4, *grid)
        tr = model.decode_head.trace(model.extract_feat(x))
    assert tr.x.shape == tr.s.shape == (1, 4, *grid)
    assert tr.E.shape == tr.M.shape == (1, 1, *grid)
    assert len(tr.y) == 5 and tr.y[-1].shape == (1, 4, *grid)
    torch.testing.assert_close(tr.y[-1], logits)
    torch.testing.assert_close(tr.s, tr.M * tr.x)
    torch.testing.assert_close(tr.E, tr.x.abs().sum(1, keepdim=True))
    assert ((tr.M > 0) & (tr.M < 1)).all()
    mu, beta = model.decode_head.walk_parameters()
    torch.testing.assert_close(mu, torch.full((5,), 0.5))
    torch.testing.assert_close(beta, torch.full((5,), 0.5))


def test_predict_mode_resizes_to_the_original_image():
    model = build(difnet_cfg(depth=18)).eval()
    data = batch(model, [(61, 45), (61, 45)])
    with torch.no_grad():
        out = model(data['inputs'], data['data_samples'], mode='predict')
    assert len(out) == 2
    assert out[0].seg_logits.data.shape == (4, 61, 45)
    assert out[0].pred_sem_seg.data.shape == (1, 61, 45)
    torch.testing.assert_close(out[0].pred_sem_seg.data[0],
                               out[0].seg_logits.data.argmax(0))


def test_walk_cascade_equals_manual_composition():
    """y_T is the composition of the T walks from y_0 = s (Fig. 1a), nothing else."""
    model = build(difnet_cfg(depth=18)).eval()
    x = torch.randn(1, 3, 49, 49)
    with torch.no_grad():
        feats = model.extract_feat(x)
        tr = model.decode_head.trace(feats)
        y, s = tr.s, tr.s
        for walk, f in zip(model.decode_head.walks, feats[-5:]):
            y = walk(f, y, s)
    torch.testing.assert_close(y, tr.y[-1])
    torch.testing.assert_close(feats[4], x)  # level 0 is the image itself


def test_ablation_levels_and_mismatch_errors():
    model = build(difnet_cfg(depth=18, levels=(0, 2, 4)))
    assert len(model.decode_head.walks) == 3
    with torch.no_grad():
        assert model(torch.randn(1, 3, 33, 33), mode='tensor').shape == (1, 4, 5, 5)
    cfg = difnet_cfg(depth=18)
    cfg.neck.levels = (0, 1, 2)
    with pytest.raises(ValueError, match=r'sim_channels=\(3, 64, 128, 256, 512\) but the neck '
                       r'\(SimilarityBackbone\) gives 3 similarity levels with \(3, 64, 128\)'):
        build(cfg)
    cfg = difnet_cfg(depth=18)
    cfg.type = 'EncoderDecoder'
    with pytest.raises(TypeError, match="model.type='DifNetEncoderDecoder'"):
        build(cfg)(torch.randn(1, 3, 33, 33), mode='tensor')


def test_deeplabv2_head_is_aspp_v2():
    model = build(deeplabv2_cfg(depth=18)).eval()
    aspp = model.decode_head.conv_seg
    assert [c.dilation for c in aspp] == [(6, 6), (12, 12), (18, 18), (24, 24)]
    assert all(c.in_channels == 512 and c.out_channels == 4 and c.bias is not None
               for c in aspp)
    feat = torch.randn(1, 512, 9, 9)
    with torch.no_grad():
        out = model.decode_head([None, None, None, feat])
    torch.testing.assert_close(out, sum(c(feat) for c in aspp))
    assert model(torch.randn(1, 3, 321, 321), mode='tensor').shape == (1, 4, 41, 41)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('difnet_depth,deeplab_depth', [(50, 101), (18, 34)])
def test_parameter_counts_match_deeper_deeplabv2(difnet_depth, deeplab_depth):
    """Table 1 compares DifNet-50 with Sim-Deeplab-101 and DifNet-18 with Sim-Deeplab-34 at
    equivalent numbers of parameters."""
    difnet = n_params(build(difnet_cfg(depth=difnet_depth, num_classes=21)))
    deeplab = n_params(build(deeplabv2_cfg(depth=deeplab_depth, num_classes=21)))
    ratio = difnet / deeplab
    print(f'DifNet-{difnet_depth}: {difnet/1e6:.2f}M, '
          f'DeepLabV2-{deeplab_depth}: {deeplab/1e6:.2f}M, ratio {ratio:.3f}')
    assert 0.8 <= ratio <= 1.2
