"""Diffusion behind any mmseg decode head (DiffusionHead): every seed-head type builds, trains
a step and predicts; with the ASPP-v2 seed it equals DifNetHead; a plain model's checkpoint
starts the seed branch (keys mapped, new keys reported, another model or class count
refused); with SharedSimilarity the walks' gradient reaches the backbone."""
import pytest
import torch
from helpers import SEED_HEADS, batch, build, diffusion_cfg, difnet_cfg, logged, plain_cfg
from mmseg.registry import MODELS

from mmseg_difnet.checkpoint import map_plain_checkpoint


@pytest.mark.parametrize('seed_head', sorted(SEED_HEADS))
def test_every_seed_head_builds_trains_a_step_and_predicts(seed_head):
    torch.manual_seed(0)
    cfg = diffusion_cfg(seed_head)
    model = build(cfg).train()
    head = model.decode_head
    assert type(head).__name__ == 'DiffusionHead' and type(head.seed_head).__name__ == seed_head
    assert not hasattr(head, 'conv_seg')  # the seed head's classifier is the only one
    data = batch(model, [(64, 64), (64, 64)])
    losses = model(**data, mode='loss')
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg', 'aux.loss_ce', 'aux.acc_seg'}
    loss = losses['decode.loss_ce'] + losses['aux.loss_ce']
    assert torch.isfinite(loss)
    loss.backward()
    for name, p in model.named_parameters():  # the seed head is trained through the walks
        if name.startswith(('decode_head.seed_head.', 'decode_head.importance.',
                            'decode_head.walks.')):
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    logits = torch.stack([w.mu_logit for w in head.walks]).detach().clone()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert (torch.stack([w.mu_logit for w in head.walks]) != logits).all()  # every μ_t moved
    model.eval()
    with torch.no_grad():
        tr = head.trace(model.extract_feat(data['inputs']))
        out = model(data['inputs'], data['data_samples'], mode='predict')
    grid = (16, 16) if seed_head in ('DepthwiseSeparableASPPHead', 'SegformerHead') else (8, 8)
    assert tr.x.shape == tr.s.shape == tr.y[-1].shape == (2, 4, *grid)  # the seed head's grid
    assert tr.M.shape == (2, 1, *grid) and len(tr.y) == 5
    torch.testing.assert_close(tr.s, tr.M * tr.x)
    torch.testing.assert_close(tr.x, head.seed_head(model.extract_feat(data['inputs'])[:4]))
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)


def test_a_config_with_the_removed_gate_init_is_refused_with_the_fix():
    cfg = diffusion_cfg('FCNHead')
    cfg.decode_head.gate_init = 0.0
    with pytest.raises(ValueError, match=r'gate_init=0\.0: the refinement mode was removed.*'
                                         r'Drop gate_init'):
        MODELS.build(cfg)


def test_per_walk_prediction_for_any_seed_head():
    """The final prediction is y5 (the paper's output)."""
    cfg = diffusion_cfg('FCNHead')
    model = build(cfg).eval()
    model.test_cfg['per_walk'] = True
    data = batch(model, [(48, 40)])
    with torch.no_grad():
        out = model(data['inputs'], data['data_samples'], mode='predict')
        logits = model(data['inputs'], mode='tensor')
    for stage in ('x', 's', 'y1', 'y5'):
        assert out[0].get(f'pred_stage_{stage}').data.shape == (1, 48, 40)
    torch.testing.assert_close(out[0].get('pred_stage_y5').data,
                               out[0].pred_sem_seg.data)
    assert logits.shape == (1, 4, 6, 5)


def test_aspp_v2_seed_head_equals_difnet_head():
    """DifNetHead is DiffusionHead with DeepLabV2's ASPP-v2 as the seed: with the same
    weights, x, M, s and every y_t agree; DifNetHead keeps its checkpoint keys."""
    torch.manual_seed(0)
    difnet = build(difnet_cfg(depth=18)).eval()
    own = difnet.decode_head
    cfg = difnet_cfg(depth=18)
    seed = {k: cfg.decode_head.pop(k) for k in ('type', 'in_channels', 'in_index', 'dilations')}
    cfg.decode_head.seed_head = dict(seed, type='DeepLabV2Head', num_classes=4)
    cfg.decode_head.type = 'DiffusionHead'
    generic = MODELS.build(cfg).eval()
    state = {k.replace('decode_head.conv_seg.', 'decode_head.seed_head.conv_seg.'): v
             for k, v in difnet.state_dict().items()}
    assert generic.load_state_dict(state, strict=True)  # one-to-one keys
    assert sorted(k for k in own.state_dict() if not k.startswith(('importance.', 'walks.'))
                  ) == [f'conv_seg.{i}.{p}' for i in range(4) for p in ('bias', 'weight')]
    x = torch.randn(1, 3, 65, 65)
    with torch.no_grad():
        a = own.trace(difnet.extract_feat(x))
        b = generic.decode_head.trace(generic.extract_feat(x))
    for u, v in zip((a.x, a.M, a.s, *a.y, a.out), (b.x, b.M, b.s, *b.y, b.out)):
        torch.testing.assert_close(u, v, rtol=0, atol=0)


def _save(model, path):
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path)


@pytest.mark.parametrize('similarity', ['shared', 'backbone'])
def test_seed_checkpoint_loads_a_plain_model_and_reports_the_new_keys(tmp_path, similarity):
    torch.manual_seed(0)
    plain = build(plain_cfg('PSPHead'))
    path = _save(plain, tmp_path / 'plain.pth')
    cfg = diffusion_cfg('PSPHead', similarity=similarity)
    cfg.seed_checkpoint = path
    torch.manual_seed(1)
    model = MODELS.build(cfg)
    fresh_walk = {k: v.clone() for k, v in model.decode_head.walks.state_dict().items()}
    messages, _ = logged(model.init_weights)
    ps, ms = plain.state_dict(), model.state_dict()
    mapped, fresh = map_plain_checkpoint(ps, model)
    assert len(mapped) == len(ps)  # every key of the plain model has a place
    for k, v in ps.items():
        new = k.replace('decode_head.', 'decode_head.seed_head.')
        torch.testing.assert_close(ms[new], v, rtol=0, atol=0)
    for k, v in model.decode_head.walks.state_dict().items():  # the walks keep their init
        torch.testing.assert_close(v, fresh_walk[k], rtol=0, atol=0)
    parts = {'.'.join(k.split('.')[:2]) for k in fresh}
    want = {'decode_head.importance', 'decode_head.walks'}
    assert parts == (want | {'neck.backbone'} if similarity == 'backbone' else want)
    line = next(m for m in messages if 'seed branch loaded' in m)
    assert f'({len(ps)} tensors)' in line and 'decode_head.walks' in line


def test_seed_checkpoint_of_deeplabv2_starts_difnet(tmp_path):
    """The paper's case: DifNetHead's ASPP-v2 keys are DeepLabV2Head's, mapped unchanged."""
    from helpers import deeplabv2_cfg
    torch.manual_seed(0)
    plain = build(deeplabv2_cfg(depth=18))
    cfg = difnet_cfg(depth=18)
    cfg.seed_checkpoint = _save(plain, tmp_path / 'deeplabv2.pth')
    model = build(cfg)
    for k, v in plain.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v, rtol=0, atol=0)


def test_seed_checkpoint_of_another_model_or_class_count_is_refused(tmp_path):
    other_classes = _save(build(plain_cfg('PSPHead', num_classes=7)), tmp_path / 'k7.pth')
    other_head = _save(build(plain_cfg('FCNHead')), tmp_path / 'fcn.pth')
    for path, words in ((other_classes, ['another number of classes', '7 outputs',
                                         'the config 4']),
                        (other_head, ['map to nothing', 'decode_head.convs.0',
                                      'lacks', 'decode_head.seed_head.psp_modules'])):
        cfg = diffusion_cfg('PSPHead')
        cfg.seed_checkpoint = path
        with pytest.raises(ValueError) as e:
            build(cfg)
        assert all(w in str(e.value) for w in words), (words, str(e.value))
        assert path in str(e.value)
    cfg = diffusion_cfg('PSPHead')
    cfg.seed_checkpoint = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match='model.seed_checkpoint=.*missing.pth'):
        build(cfg)


def test_shared_similarity_walks_train_and_their_gradient_reaches_the_backbone():
    """With SharedSimilarity the walks read the backbone's stages: their Ψ, μ, β get
    gradients, and the backbone gets a gradient through the walks beyond the seed head's."""
    torch.manual_seed(0)
    model = build(diffusion_cfg('PSPHead', aux=False)).train()
    head = model.decode_head
    data = batch(model, [(64, 64), (64, 64)])

    def backbone_grad(detach_levels):
        model.zero_grad()
        feats = model.extract_feat(data['inputs'])
        n = len(feats) - head.num_walks  # the neck appends the levels to the stages
        stages, levels = feats[:n], feats[n:]
        if detach_levels:
            levels = [f.detach() for f in levels]
        x, M, s = head.seed(stages)
        head.loss_by_feat(head.cascade(s, levels)[0][-1], data['data_samples'])[
            'loss_ce'].backward()
        return torch.cat([p.grad.flatten() for p in model.backbone.parameters()])

    full, seed_only = backbone_grad(False), backbone_grad(True)
    for t, walk in enumerate(head.walks):
        for p in (walk.mu_logit, walk.beta_logit, walk.psi.conv.weight):
            assert p.grad is not None and p.grad.abs().sum() > 0, f'walk {t}'
    assert (full - seed_only).abs().max() > 1e-6 * full.abs().max()
    assert sum(p.numel() for p in model.neck.parameters()) == 0  # no second backbone


def test_bad_configs_name_the_fix():
    with pytest.raises(ValueError, match='decode_head.seed_head is missing'):
        MODELS.build(dict(type='DiffusionHead', in_channels=8, channels=8, num_classes=3))
    with pytest.raises(ValueError, match="type='DiffusionHead'"):
        cfg = difnet_cfg(depth=18)
        cfg.decode_head.seed_head = dict(type='FCNHead')
        MODELS.build(cfg)
    cfg = diffusion_cfg('SegformerHead')
    cfg.decode_head.seed_head.in_index = [0, 1, 2, 5]
    cfg.decode_head.seed_head.in_channels = [64, 128, 256, 3]
    model = build(cfg)
    with pytest.raises(ValueError, match=r'seed_head.in_index=\[0, 1, 2, 5\] does not select '
                       r'one of the 4 seed-backbone stages \(0..3\) \(outside: \[5\]\)'):
        model(torch.randn(1, 3, 64, 64), mode='tensor')


def test_diffusion_study_figures_for_a_deeplabv3plus_seed(tmp_path):
    """The mechanism study (Fig. 2-4) runs on any seed head: here on DeepLabV3+'s stride-4
    grid, P rows summing to 1."""
    import numpy as np
    from PIL import Image

    from mmseg_difnet.datasets.synthetic_voc import make_sample, voc_palette
    from mmseg_difnet.visualization import diffusion_study as ds
    model = build(diffusion_cfg('DepthwiseSeparableASPPHead', num_classes=21)).eval()
    rgb, label = make_sample(np.random.default_rng(0), 64)
    result = ds.study(model, rgb[..., ::-1].copy(), points=[(10, 20), (60, 5)])
    assert result['P_rows'].shape == (2, 5, 16, 16) and result['x_argmax'].shape == (16, 16)
    np.testing.assert_allclose(result['P_rows'].sum((-2, -1)), 1.0, atol=1e-5)
    palette = np.array(voc_palette(), np.uint8).reshape(-1, 3)
    paths = ds.write_figures(result, rgb[..., ::-1].copy(), str(tmp_path), palette, gt=label)
    assert Image.open(paths['fig4']).size == (6 * 220, 280)
