"""Fast diffusion: the fused and chunked paths equal the dense reference (values and
gradients), the fused kernel really runs, mixed precision stays finite, a finer grid, and
concurrent branches on a GPU."""
import pytest
import torch
import torch.nn.functional as F
from helpers import batch, build, difnet_cfg, logged
from torch.profiler import ProfilerActivity, profile

from mmseg_difnet.models import propagation as rw
from mmseg_difnet.models.export_pooling import pool_to_grid
from mmseg_difnet.models.fused_embedding import FusedEmbedding, banded_conv_pool


def inputs(B, N, d, K, scale, seed=0):
    g = torch.Generator().manual_seed(seed)
    psi = (torch.randn(B, N, d, generator=g) * scale).requires_grad_()
    y = torch.randn(B, N, K, generator=g).requires_grad_()
    return psi, y


@pytest.mark.parametrize('impl', ['fused', 'chunked', 'auto'])
@pytest.mark.parametrize('N,d,K,scale', [(41 * 41, 64, 21, 0.3), (17 * 23, 64, 59, 0.35),
                                         (300, 16, 150, 0.5), (1, 64, 21, 0.3)])
def test_fast_paths_equal_dense(impl, N, d, K, scale):
    psi, y = inputs(2, N, d, K, scale)
    ref = rw.dense_propagate(psi, y)
    g = torch.randn_like(ref)
    ref_grads = torch.autograd.grad(ref, (psi, y), g)
    fn = {'fused': rw.fused_propagate,
          'chunked': lambda p, v: rw.chunked_propagate(p, v, chunk=128),
          'auto': rw.propagate}[impl]
    out = fn(psi, y)
    grads = torch.autograd.grad(out, (psi, y), g)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    scale = max(g_.abs().max().item() for g_ in ref_grads)  # the op's gradient scale
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5 * scale)


def test_fused_path_runs_the_flash_kernel_on_cpu():
    """Not the unfused fallback: V of width 21 alone would silently take the math path."""
    psi, y = inputs(2, 400, 64, 21, 0.3)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        rw.propagate(psi, y).sum().backward()
    names = {e.key for e in prof.key_averages()}
    assert 'aten::_scaled_dot_product_flash_attention_for_cpu' in names
    assert 'aten::_scaled_dot_product_flash_attention_for_cpu_backward' in names
    assert 'aten::_softmax' not in names  # P was never formed
    assert rw.choose_impl('auto', psi, y) == ('fused', None)  # observable, no state


def test_auto_choice_is_stateless_and_out_of_memory_propagates(monkeypatch):
    """An out-of-memory error on a first call propagates and changes no later choice."""
    psi, y = inputs(1, 64, 16, 5, 0.3)

    def oom(*args):
        raise torch.OutOfMemoryError('CUDA out of memory (simulated by the test)')

    monkeypatch.setitem(rw._PATHS, 'fused', oom)
    with pytest.raises(torch.OutOfMemoryError):
        rw.propagate(psi, y)
    monkeypatch.undo()
    assert rw.choose_impl('auto', psi, y) == ('fused', None)
    torch.testing.assert_close(rw.propagate(psi, y), rw.dense_propagate(psi, y))


def test_no_fused_kernel_falls_back_to_chunked_and_logs_once(monkeypatch):
    """A dtype no fused kernel takes: 'auto' computes P·y by the chunked path, with the dense
    path's values, and the walk logs the reason once through mmengine's logger."""
    from mmseg.registry import MODELS
    psi, y = inputs(1, 64, 16, 5, 0.3)
    path, reason = rw.choose_impl('auto', psi.detach().to(torch.int8), y)
    assert path == 'chunked' and 'torch.int8' in reason
    # float64 runs through the CPU kernel; pretend it had none to drive the module's fallback
    monkeypatch.setitem(rw._FUSED_DTYPES, 'cpu', (torch.float32,))
    walk = MODELS.build(dict(type='RandomWalk', in_channels=3)).double().eval()
    f = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    s = torch.randn(1, 2, 4, 4, dtype=torch.float64)

    def twice():
        with torch.no_grad():
            return walk(f, s, s), walk(f, s, s)
    messages, (out1, out2) = logged(twice)
    fallbacks = [m for m in messages if 'chunked path' in m]
    assert len(fallbacks) == 1 and 'torch.float64' in fallbacks[0]
    walk.impl = 'dense'
    with torch.no_grad():
        torch.testing.assert_close(out1, walk(f, s, s))
    torch.testing.assert_close(out1, out2)


def test_walk_impls_agree_inside_the_module():
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    walks = {impl: MODELS.build(dict(type='RandomWalk', in_channels=8, impl=impl)).eval()
             for impl in rw.IMPLS}
    state = walks['dense'].state_dict()
    for w in walks.values():
        w.load_state_dict(state)
    f, y, s = torch.randn(2, 8, 30, 30), torch.randn(2, 5, 12, 12), torch.randn(2, 5, 12, 12)
    ref = walks['dense'](f, y, s)
    for impl, w in walks.items():
        torch.testing.assert_close(w(f, y, s), ref, rtol=1e-5, atol=1e-5, msg=impl)
    with pytest.raises(ValueError, match="impl='flash' is not one of"):
        MODELS.build(dict(type='RandomWalk', in_channels=8, impl='flash'))


@pytest.mark.parametrize('dtype', [pytest.param(torch.bfloat16, marks=pytest.mark.slow),
                                   torch.float16])  # CPU bf16 kernels are slow: 19 s
def test_training_step_under_autocast_stays_finite_with_large_features(dtype):
    torch.manual_seed(0)
    model = build(difnet_cfg(depth=18)).train()
    for walk in model.decode_head.walks:  # large feature norms: |Ψ|² far above fp16's 65504
        walk.psi.bn.weight.data.fill_(40.0)
    data = batch(model, [(49, 49), (49, 49)])
    feats = model.extract_feat(data['inputs'])
    psi = model.decode_head.walks[2].embed(feats[-3], (7, 7))
    naive = psi.half() @ psi.half().transpose(1, 2)
    assert not torch.isfinite(naive).all()  # what a walk in fp16 would meet
    with torch.autocast('cpu', dtype=dtype):
        losses = model(**data, mode='loss')
    loss = losses['decode.loss_ce']
    assert torch.isfinite(loss)
    loss.backward()
    for name, p in model.named_parameters():
        assert torch.isfinite(p.grad).all(), name


def test_finer_diffusion_grid():
    cfg = difnet_cfg(depth=18)
    cfg.decode_head.grid_scale = 2
    model = build(cfg).eval()
    x = torch.randn(1, 3, 65, 65)
    with torch.no_grad():
        logits = model(x, mode='tensor')
        tr = model.decode_head.trace(model.extract_feat(x))
    assert logits.shape == (1, 4, 18, 18)  # output stride 4 instead of 8
    assert tr.x.shape == (1, 4, 9, 9) and tr.s.shape == (1, 4, 18, 18)
    out = model.predict(x)
    assert out[0].seg_logits.data.shape == (4, 65, 65)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='CUDA streams need a GPU')
def test_concurrent_branches_equal_sequential_on_gpu():
    cfg = difnet_cfg(depth=18)
    model = build(cfg).cuda().eval()
    x = torch.randn(2, 3, 321, 321, device='cuda')
    with torch.no_grad():
        ref = model(x, mode='tensor')
        model.concurrent_branches = True
        out = model(x, mode='tensor')
    torch.testing.assert_close(out, ref)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='CUDA streams need a GPU')
def test_a_model_that_ran_concurrent_branches_deep_copies_and_pickles():
    # it kept its side Stream, which neither copy nor pickle can take (fuse_conv_bn of a
    # deep copy raised TypeError)
    import copy
    import pickle
    model = build(difnet_cfg(depth=18)).cuda().eval()
    model.concurrent_branches = True
    x = torch.randn(1, 3, 65, 65, device='cuda')
    with torch.no_grad():
        ref = model(x, mode='tensor')
        twin = copy.deepcopy(model)
        torch.testing.assert_close(twin(x, mode='tensor'), ref)
    torch.testing.assert_close(pickle.loads(pickle.dumps(model))(x, mode='tensor'), ref)


def _walk_with_stats(C, d=16, seed=0):
    """A walk in eval mode whose BN has γ of both signs and non-trivial running statistics."""
    from mmseg.registry import MODELS
    torch.manual_seed(seed)
    walk = MODELS.build(dict(type='RandomWalk', in_channels=C, embed_channels=d)).eval()
    bn = walk.psi.bn
    with torch.no_grad():
        bn.weight.uniform_(-1, 1)  # negative γ: BN then max-pool ≠ max-pool then BN
        bn.bias.uniform_(-1, 1)
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    return walk


@pytest.mark.parametrize('C,size,grid', [(3, (53, 61), (7, 8)), (24, (7, 8), (7, 8)),
                                         (24, (15, 17), (7, 8))])
def test_the_deploy_embedding_equals_conv_bn_pool(C, size, grid):
    """switch_to_deploy folds Ψ's BN into its conv (channels-last for a level with fewer
    channels than Ψ, no pooling at the grid's size): Ψ and its gradient with respect to the
    input equal the training form's maxpool(BN(conv(f))) in eval mode, for γ of both signs;
    the BN is gone from the walk."""
    walk = _walk_with_stats(C)
    f = torch.randn(2, C, *size, requires_grad=True)
    ref = walk.embed(f, grid)  # the one training path: conv, BN (running statistics), pool
    plain = F.adaptive_max_pool2d(walk.psi.bn(walk.psi.conv(f)), grid)
    torch.testing.assert_close(ref, plain.flatten(2).transpose(1, 2))
    assert walk.switch_to_deploy() and isinstance(walk.psi, FusedEmbedding)
    assert walk.switch_to_deploy()  # a second call changes nothing
    assert sorted(k for k in walk.state_dict() if k.startswith('psi.')) == [
        'psi.conv.bias', 'psi.conv.weight']
    out = walk.embed(f, grid)
    assert out.shape == (2, grid[0] * grid[1], 16)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    g = torch.randn_like(ref)
    torch.testing.assert_close(torch.autograd.grad(out, f, g)[0],
                               torch.autograd.grad(ref, f, g)[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('size,grid,band_rows', [((53, 61), (7, 8), 5), ((53, 61), (7, 8), 1),
                                                  ((5, 9), (7, 8), 2), ((40, 30), (8, 6), 64)])
def test_banded_conv_pool_equals_conv_then_pool(size, grid, band_rows):
    """The image level's conv and pooling in bands of rows take the same windows as one
    adaptive max pooling of the whole map: equal to float rounding, the grid larger than
    the level (adaptive windows that overlap or repeat) included."""
    g = torch.Generator().manual_seed(1)
    f = torch.randn(2, 3, *size, generator=g)
    w, b = torch.randn(16, 3, 1, 1, generator=g), torch.randn(16, generator=g)
    ref = F.adaptive_max_pool2d(F.conv2d(f, w, b), grid)  # (2, 16, h, w)
    out = banded_conv_pool(f, w, b, grid, band_rows)
    assert out.shape == ref.shape == (2, 16, *grid)
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('band_floats', [1, 16 * 61 * 2 * 7, 1 << 20])
def test_a_deployed_walk_bands_the_image_level_only(band_floats):
    """The banded path is taken exactly on a CPU for a level with fewer channels than Ψ off
    the grid's size; ``band_floats`` (one row per band, seven, the whole map) changes the
    bands, not Ψ; a norm without running statistics is not fused."""
    walk = _walk_with_stats(3)
    f = torch.randn(2, 3, 53, 61)
    ref = walk.embed(f, (7, 8))
    walk.switch_to_deploy(band_floats)
    emb = walk.psi
    assert emb.band_floats == band_floats
    assert emb.banded(f, (7, 8)) and not emb.banded(torch.randn(2, 3, 7, 8), (7, 8))
    assert not _deployed(_walk_with_stats(24)).psi.banded(torch.randn(1, 24, 53, 61), (7, 8))
    torch.testing.assert_close(walk.embed(f, (7, 8)), ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='band_floats=0'):
        FusedEmbedding(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4), band_floats=0)
    from mmseg.registry import MODELS
    gn = MODELS.build(dict(type='RandomWalk', in_channels=3, embed_channels=16,
                           norm_cfg=dict(type='GN', num_groups=4)))
    assert not gn.switch_to_deploy() and not isinstance(gn.psi, FusedEmbedding)


def _deployed(walk):
    walk.switch_to_deploy()
    return walk


def test_channels_last_pooling_equals_plain_pooling_with_ties():
    """The deployed walks pool a channels-last copy on a CPU: the same maxima, and the same
    gradient routing where a window holds ties (values on a coarse lattice)."""
    g = torch.Generator().manual_seed(2)
    z = (torch.randint(-3, 4, (2, 16, 29, 31), generator=g).float() / 2).requires_grad_()
    ref = pool_to_grid(z, (9, 11))
    out = pool_to_grid(z, (9, 11), channels_last=True)
    assert torch.equal(out, ref) and out.shape == (2, 16, 9, 11)
    w = torch.randn(out.shape, generator=g)
    assert torch.equal(torch.autograd.grad(out, z, w)[0], torch.autograd.grad(ref, z, w)[0])


def test_training_embedding_keeps_the_batch_statistics():
    """In training mode BN normalises with the batch's statistics, and the running statistics
    move as BN's own."""
    walk = _walk_with_stats(3).train()
    mean0 = walk.psi.bn.running_mean.clone()
    f = torch.randn(2, 3, 20, 22)
    z = walk.psi.conv(f)
    expect = (z - z.mean((0, 2, 3), keepdim=True)) / torch.sqrt(
        z.var((0, 2, 3), unbiased=False, keepdim=True) + walk.psi.bn.eps)
    expect = expect * walk.psi.bn.weight.view(1, -1, 1, 1) + walk.psi.bn.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(walk.psi(f), expect, rtol=1e-4, atol=1e-5)
    assert not torch.equal(walk.psi.bn.running_mean, mean0)


def test_a_deployed_model_gives_the_training_forms_logits():
    """switch_to_deploy on a whole DifNet (every walk fused, BN statistics away from their
    initial values): the same logits as the eval-mode training form, to float rounding."""
    import copy

    from mmseg_difnet.deployment import switch_to_deploy
    model = build(difnet_cfg(depth=18))
    model.train()
    with torch.no_grad():  # running statistics of a batch
        model(torch.randn(2, 3, 33, 33, generator=torch.Generator().manual_seed(0)),
              mode='tensor')
    model.eval()
    x = torch.randn(1, 3, 41, 57, generator=torch.Generator().manual_seed(5))
    deployed = copy.deepcopy(model)
    assert switch_to_deploy(deployed, band_floats=2048) == len(model.decode_head.walks) == 5
    with torch.no_grad():
        ref, out = model(x, mode='tensor'), deployed(x, mode='tensor')
    assert ref.shape == out.shape == (1, model.decode_head.num_classes, 6, 8)  # stride 8
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
