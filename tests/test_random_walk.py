"""RandomWalk (Eq. 3-5): transition rows, bounded μ/β, Eq. 5 against an independent dense
computation, and convergence of the iterated walk to the closed form of Eq. 2."""
import math

import pytest
import torch
from mmseg.registry import MODELS

import mmseg_difnet  # noqa: F401
from mmseg_difnet.models import propagation as rw


def make_walk(c=6, d=8, **kwargs):
    torch.manual_seed(0)
    walk = MODELS.build(dict(type='RandomWalk', in_channels=c, embed_channels=d, **kwargs))
    # Random BN statistics and affine so that Ψ is not a plain normalisation.
    bn = walk.psi.bn
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-0.5, 0.5)
    return walk.eval()


def test_transition_rows_sum_to_one():
    walk = make_walk()
    f = torch.randn(2, 6, 20, 14) * 3
    P = rw.transition_matrix(walk.embed(f, (5, 7)))
    assert P.shape == (2, 35, 35)
    assert (P >= 0).all()
    torch.testing.assert_close(P.sum(-1), torch.ones(2, 35), rtol=0, atol=1e-5)


def test_mu_beta_bounded_and_start_at_half():
    walk = make_walk()
    assert walk.mu.item() == pytest.approx(0.5, abs=1e-7)
    assert walk.beta.item() == pytest.approx(0.5, abs=1e-7)
    for value in (-12.0, -3.0, 0.7, 12.0):
        walk.mu_logit.data.fill_(value)
        walk.beta_logit.data.fill_(-value)
        assert 0.0 < walk.mu.item() < 1.0 and 0.0 < walk.beta.item() < 1.0
    custom = MODELS.build(dict(type='RandomWalk', in_channels=3, mu_init=0.2, beta_init=0.9))
    assert custom.mu.item() == pytest.approx(0.2, abs=1e-6)
    assert custom.beta.item() == pytest.approx(0.9, abs=1e-6)
    with pytest.raises(ValueError, match='mu_init=1.5'):
        MODELS.build(dict(type='RandomWalk', in_channels=3, mu_init=1.5))


def test_forward_equals_dense_eq5():
    """Eq. 5 computed independently: conv1×1 + BN(eval) by hand, max pooling over the
    exact windows of adaptive pooling, softmax by exp/sum, in float64."""
    walk = make_walk(c=5, d=7)
    walk.mu_logit.data.fill_(0.3)
    walk.beta_logit.data.fill_(-0.4)
    B, K, h, w = 2, 3, 4, 5
    f = torch.randn(B, 5, 8, 15)
    y = torch.randn(B, K, h, w)
    s = torch.randn(B, K, h, w)
    out = walk(f, y, s)

    conv, bn = walk.psi.conv, walk.psi.bn
    f64 = f.double()
    z = torch.einsum('oc,bchw->bohw', conv.weight.double()[:, :, 0, 0], f64)
    z = z + conv.bias.double()[None, :, None, None]
    z = (z - bn.running_mean.double()[None, :, None, None]) / torch.sqrt(
        bn.running_var.double()[None, :, None, None] + bn.eps)
    z = z * bn.weight.double()[None, :, None, None] + bn.bias.double()[None, :, None, None]
    H, W = z.shape[-2:]
    psi = torch.empty(B, 7, h, w, dtype=torch.float64)
    for i in range(h):
        for j in range(w):
            r0, r1 = (i * H) // h, math.ceil((i + 1) * H / h)
            c0, c1 = (j * W) // w, math.ceil((j + 1) * W / w)
            psi[:, :, i, j] = z[:, :, r0:r1, c0:c1].amax(dim=(2, 3))
    psi = psi.flatten(2)  # (B, d, N)
    Wmat = torch.einsum('bdi,bdj->bij', psi, psi)  # no 1/sqrt(d)
    E = torch.exp(Wmat - Wmat.amax(-1, keepdim=True))
    P = E / E.sum(-1, keepdim=True)
    mu, beta = 1 / (1 + math.exp(-0.3)), 1 / (1 + math.exp(0.4))
    yf, sf = y.double().flatten(2), s.double().flatten(2)  # (B, K, N)
    Py = torch.einsum('bij,bkj->bki', P, yf)
    expected = beta * (mu * Py + (1 - mu) * sf) + (1 - beta) * yf
    torch.testing.assert_close(out.double().flatten(2), expected, rtol=1e-5, atol=1e-5)


def test_iterated_walk_converges_to_eq2():
    """β = 1 and a fixed P, μ: y ← μ P y + (1 − μ) s converges to (1 − μ)(I − μP)⁻¹ s."""
    walk = make_walk(c=4, d=6).double()
    walk.beta_logit.data.fill_(float('inf'))  # β = sigmoid(inf) = 1 exactly
    mu = 0.7
    walk.mu_logit.data.fill_(math.log(mu / (1 - mu)))
    assert walk.beta.item() == 1.0
    f = torch.randn(1, 4, 6, 6, dtype=torch.float64)
    s = torch.randn(1, 3, 6, 6, dtype=torch.float64)
    y = s
    with torch.no_grad():
        for _ in range(150):
            y = walk(f, y, s)
        P = rw.transition_matrix(walk.embed(f, (6, 6)))[0]  # (N, N)
    N = P.shape[0]
    closed = (1 - mu) * torch.linalg.solve(torch.eye(N, dtype=torch.float64) - mu * P,
                                           s.flatten(2)[0].T)  # (N, K)
    torch.testing.assert_close(y.flatten(2)[0].T, closed, rtol=1e-9, atol=1e-9)
    # and it is a fixed point that differs from s: the walk did diffuse
    assert (closed - s.flatten(2)[0].T).abs().max() > 1e-2


def test_wrong_level_channels_is_a_clear_error():
    walk = make_walk(c=6)
    with pytest.raises(ValueError, match='has 5 channels but this walk was built for 6'):
        walk(torch.randn(1, 5, 8, 8), torch.randn(1, 2, 4, 4), torch.randn(1, 2, 4, 4))
