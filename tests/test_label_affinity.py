"""The similarity score of P_t and the label-affinity loss (docs/studies/similarity.md):
exact values on hand-built P, row blocks equal to the whole matrix (values and gradients),
the head's losses and the per-walk metric."""
import math

import pytest
import torch
from helpers import batch, build, difnet_cfg

from mmseg_difnet.models.label_affinity import (
    AffinityLoss,
    grid_labels,
    sample_grid_labels,
    similarity_stats,
    similarity_summary,
)


def _basis(n, a2=math.log(2.0)):
    """Ψ = a·I: ψ_i·ψ_j = a² δ_ij, so P_ii = e^{a²} / (e^{a²} + N − 1) and P_ij = 1 / (...)."""
    return math.sqrt(a2) * torch.eye(n)[None]  # (1, N, N): d = N


def test_similarity_stats_of_a_hand_built_P():
    psi = _basis(4)  # e^{a²} = 2, Z = 5: P_ii = 2/5, P_ij = 1/5
    labels = torch.tensor([[0, 0, 1, 255]])
    st = similarity_stats(psi, labels, num_classes=3)  # (K, 4): n, same, chance, self
    expected = torch.tensor([[2, 2 / 5, 2 / 3, 4 / 5],  # nodes 0, 1: one mate each
                             [1, 0, 0, 2 / 5],  # node 2: no other node of class 1
                             [0, 0, 0, 0]], dtype=torch.float64)
    torch.testing.assert_close(st, expected)
    s = similarity_summary(st, ('a', 'b', 'c'))
    assert s['same'] == pytest.approx(0.4 / 3) and s['chance'] == pytest.approx((2 / 3) / 3)
    assert s['lift'] == pytest.approx(0.6) and s['self'] == pytest.approx(1.2 / 3)
    assert s['same.a'] == pytest.approx(0.2) and s['same.b'] == 0
    assert math.isnan(s['same.c'])


def test_similarity_stats_equal_the_whole_matrix_in_row_blocks():
    g = torch.Generator().manual_seed(0)
    psi = torch.randn(2, 37, 8, generator=g)
    labels = torch.randint(0, 4, (2, 37), generator=g)
    labels[0, :5] = 255
    P = torch.softmax(psi @ psi.transpose(1, 2), -1)  # (B, N, N), the reference
    ref = torch.zeros(4, 4, dtype=torch.float64)
    for b in range(2):
        for i in range(37):
            c = int(labels[b, i])
            if c == 255:
                continue
            mates = (labels[b] == c) & (torch.arange(37) != i)
            n_c = int((labels[b] == c).sum())
            ref[c] += torch.tensor([1, float(P[b, i, mates].sum()), (n_c - 1) / 36,
                                    float(P[b, i, i])], dtype=torch.float64)
    for chunk in (1024, 5):
        torch.testing.assert_close(similarity_stats(psi, labels, 4, chunk=chunk), ref,
                                   rtol=1e-5, atol=1e-6)


def test_affinity_loss_exact_values():
    psi = _basis(4)  # void column 3 masked: Z̃ = 2 + 2 = 4, mate mass 1/4
    labels = torch.tensor([[0, 0, 1, 255]])
    loss = AffinityLoss(loss_weight=0.5)(psi, labels)
    torch.testing.assert_close(loss, torch.tensor(0.5 * math.log(4.0)))
    psi = _basis(5)  # Z̃ = 2 + 4 = 6; class 0: 2 mates, mass 2/6; class 1: 1 mate, 1/6
    labels = torch.tensor([[0, 0, 0, 1, 1]])
    balanced = AffinityLoss()(psi, labels)
    per_node = AffinityLoss(class_balanced=False)(psi, labels)
    torch.testing.assert_close(balanced, torch.tensor((math.log(3) + math.log(6)) / 2))
    torch.testing.assert_close(per_node, torch.tensor((3 * math.log(3) + 2 * math.log(6)) / 5))


def test_affinity_loss_row_blocks_equal_the_whole_matrix_with_gradients():
    g = torch.Generator().manual_seed(1)
    psi = torch.randn(2, 41, 6, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 5, (2, 41), generator=g)
    labels[1, 10:20] = 255

    def dense(psi):  # −log Σ_{mates} P̃_ij over the labelled columns, class-balanced
        logits = psi @ psi.transpose(1, 2)
        logits = logits.masked_fill((labels == 255)[:, None, :], float('-inf'))
        logp = torch.log_softmax(logits, -1)
        total, per_class = {}, {}
        for b in range(2):
            for i in range(41):
                c = int(labels[b, i])
                mates = (labels[b] == c) & (torch.arange(41) != i)
                if c == 255 or not mates.any():
                    continue
                per_class.setdefault(c, []).append(-logp[b, i, mates].logsumexp(0))
        total = [torch.stack(v).mean() for v in per_class.values()]
        return torch.stack(total).mean()

    a = psi.clone().requires_grad_()
    b = psi.clone().requires_grad_()
    ref = dense(a)
    ref.backward()
    out = AffinityLoss(chunk=7)(b, labels)  # six row blocks, recomputed in backward
    out.backward()
    torch.testing.assert_close(out.double(), ref)
    torch.testing.assert_close(b.grad.double(), a.grad, rtol=1e-5, atol=1e-6)
    assert a.grad.abs().sum() > 0


def test_affinity_loss_without_mates_is_zero_with_a_gradient():
    psi = torch.randn(1, 3, 4, requires_grad=True)
    loss = AffinityLoss()(psi, torch.tensor([[0, 1, 255]]))
    loss.backward()
    assert loss.item() == 0 and torch.equal(psi.grad, torch.zeros_like(psi))


def test_labels_on_the_diffusion_grid():
    seg = torch.arange(16).reshape(1, 4, 4)
    assert grid_labels(seg, (2, 2)).tolist() == [[0, 2, 8, 10]]  # nearest: one pixel a node
    gt = torch.tensor([[1, 2], [3, 4]])  # original size; fed as 4×4, padded 2 right
    lab = sample_grid_labels(gt, (4, 4), [0, 2, 0, 0], (4, 6))
    assert lab.reshape(4, 6).tolist() == [[1, 1, 2, 2, 255, 255]] * 2 + [
        [3, 3, 4, 4, 255, 255]] * 2


def test_head_affinity_losses_reach_psi():
    torch.manual_seed(0)
    cfg = difnet_cfg(depth=18, num_classes=4)
    cfg.decode_head.affinity_loss = dict(type='AffinityLoss', loss_weight=1.0)
    cfg.decode_head.affinity_walks = [1, 4]
    model = build(cfg).train()
    data = batch(model, [(64, 64)] * 2)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert {'decode.loss_affinity2', 'decode.loss_affinity5'} <= set(losses)
    assert 'decode.loss_affinity1' not in losses and all(
        v > 0 for k, v in losses.items() if 'loss_affinity' in k)
    losses['decode.loss_affinity5'].backward()
    walks = model.decode_head.walks
    assert walks[4].psi.conv.weight.grad.abs().sum() > 0
    assert walks[1].psi.conv.weight.grad is None  # this loss reaches only its own Ψ
    tr = model.decode_head.trace(model.extract_feat(data['inputs']))
    grid = tuple(tr.s.shape[2:])
    torch.testing.assert_close(tr.psi[2], walks[2].embed(tr.levels[2], grid))


def test_paper_head_has_no_affinity_loss_and_bad_walks_are_refused():
    model = build(difnet_cfg(depth=18, num_classes=4)).train()
    data = batch(model, [(64, 64)])
    assert not any('affinity' in k for k in model.loss(data['inputs'], data['data_samples']))
    cfg = difnet_cfg(depth=18)
    cfg.decode_head.affinity_walks = [5]
    with pytest.raises(ValueError, match=r'affinity_walks=\[5\] must name walks 0..4'):
        build(cfg)
