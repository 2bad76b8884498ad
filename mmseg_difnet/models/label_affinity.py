# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""How well P_t = softmax(Ψ_t Ψ_tᵀ) knows the classes (Sec. 3: the similarity branch
"estimates the possibility of any two nodes that belong to the same class"): the similarity
score, and the label-affinity loss that teaches it (beyond the paper;
docs/studies/similarity.md).

Both work on rows of P in blocks of ``chunk`` nodes, so memory is O(chunk·N), never the
(B, N, N) matrix when N is large.

Shapes: B batch, N = h·w nodes of the diffusion grid, d width of Ψ, K classes; labels (B, N)
with the ignore value on void and padding nodes.
"""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .propagation import row_blocks

CHUNK = 1024


def grid_labels(seg: Tensor, grid: Tuple[int, int]) -> Tensor:
    """Labels on the diffusion grid by nearest neighbour (mmseg's label resize), so each class
    keeps its share of nodes: (B, H, W) or (B, 1, H, W) -> (B, N) long."""
    seg = seg.reshape(seg.shape[0], 1, *seg.shape[-2:]).float()
    return F.interpolate(seg, size=grid, mode='nearest').flatten(1).long()  # (B, N)


def sample_grid_labels(gt: Tensor, img_shape: Tuple[int, int], padding_size: Sequence[int],
                       grid: Tuple[int, int], ignore_index: int = 255) -> Tensor:
    """A test sample's label (H, W) at its original size on the diffusion grid of its input:
    resized to the image as fed (``img_shape``), padded as the data preprocessor padded it
    (``padding_size`` = left, right, top, bottom; void), then :func:`grid_labels`: (1, N)."""
    lab = F.interpolate(gt.reshape(1, 1, *gt.shape[-2:]).float(), size=tuple(img_shape),
                        mode='nearest')  # (1, 1, h_img, w_img)
    left, right, top, bottom = (int(v) for v in padding_size)
    lab = F.pad(lab, (left, right, top, bottom), value=float(ignore_index))
    return grid_labels(lab, grid)


def _row_terms(q: Tensor, psi: Tensor, lab_q: Tensor, labels: Tensor, offset: int,
               ignore_index: int, mask_void: bool) -> Tuple[Tensor, Tensor]:
    """For the rows q (nodes offset .. offset + c − 1): log Σ_{j≠i, y_j=y_i} exp(l_ij) and
    log Σ_j exp(l_ij), l = Ψ Ψᵀ; with ``mask_void`` the void columns are left out of both.
    (B, c, d), (B, N, d), (B, c), (B, N) -> (B, c), (B, c)."""
    logits = q @ psi.transpose(1, 2)  # (B, c, N)
    c, N = logits.shape[1:]
    cols = labels[:, None, :]  # (B, 1, N)
    same = lab_q[:, :, None] == cols  # (B, c, N)
    eye = torch.arange(c, device=q.device)[:, None] + offset == torch.arange(
        N, device=q.device)  # (c, N): the node itself
    same = same & ~eye & (cols != ignore_index)
    neg = torch.finfo(logits.dtype).min
    all_cols = logits.masked_fill(cols == ignore_index, neg) if mask_void else logits
    log_same = logits.masked_fill(~same, neg).logsumexp(-1)  # (B, c)
    return log_same, all_cols.logsumexp(-1)  # (B, c), (B, c)


def _log_same_and_total(psi: Tensor, labels: Tensor, ignore_index: int, mask_void: bool,
                        chunk: int) -> Tuple[Tensor, Tensor]:
    """:func:`_row_terms` of every node, ``chunk`` rows at a time (recomputed in backward
    when a gradient is needed): (B, N), (B, N)."""
    N = psi.shape[1]
    return row_blocks(lambda a, b: _row_terms(psi[:, a:b], psi, labels[:, a:b], labels, a,
                                              ignore_index, mask_void),
                      N, chunk, psi.requires_grad and N > chunk)


@torch.no_grad()
def similarity_stats(psi: Tensor, labels: Tensor, num_classes: int, ignore_index: int = 255,
                     chunk: int = CHUNK) -> Tensor:
    """Sums over the labelled nodes of each class, for one P = softmax(Ψ Ψᵀ): (B, N, d),
    (B, N) -> (K, 4), the columns being the count of nodes, Σ same-class mass
    Σ_{j≠i, y_j=y_i} P_ij, Σ chance (n_{y_i} − 1)/(N − 1) (what a P that ignored the classes,
    the uniform row, would give) and Σ self mass P_ii. P is the walk's own: every column,
    void included, is in its softmax. Summed over the batch; :func:`similarity_summary`
    turns sums into means."""
    psi = psi.float()
    B, N, _ = psi.shape
    log_same, log_total = _log_same_and_total(psi, labels, ignore_index, False, chunk)
    same = (log_same - log_total).exp()  # (B, N); exp(min − lse) underflows to 0
    self_mass = ((psi * psi).sum(-1) - log_total).exp()  # P_ii: (B, N)
    valid = (labels != ignore_index) & (labels >= 0) & (labels < num_classes)
    lab = torch.where(valid, labels, torch.zeros_like(labels))
    counts = F.one_hot(lab, num_classes).mul(valid[..., None]).sum(1)  # (B, K)
    chance = (counts.gather(1, lab) - 1).clamp(min=0).float() / max(N - 1, 1)  # (B, N)
    out = torch.zeros(num_classes, 4, dtype=torch.float64, device=psi.device)
    for col, v in enumerate((torch.ones_like(same), same, chance, self_mass)):
        out[:, col].index_add_(0, lab[valid], v[valid].double())
    return out


def similarity_summary(stats: Tensor, classes) -> Dict[str, float]:
    """Means of :func:`similarity_stats` sums (K, 4): ``same``, ``chance``, ``lift`` (same /
    chance), ``self`` over all labelled nodes, and ``same.<class>`` per class (NaN where a
    class has no node)."""
    n, same, chance, self_mass = stats.double().sum(0).tolist()
    out = dict(same=same / n if n else float('nan'),
               chance=chance / n if n else float('nan'),
               self=self_mass / n if n else float('nan'))
    out['lift'] = out['same'] / out['chance'] if out['chance'] else float('nan')
    for name, (cn, cs, _, _) in zip(classes, stats.tolist()):
        out[f'same.{name}'] = cs / cn if cn else float('nan')
    return out


@MODELS.register_module()
class AffinityLoss(nn.Module):
    """The label-affinity loss on one P_t (beyond the paper; docs/studies/similarity.md):
    the neighbourhood-components form ``−log Σ_{j≠i, y_j=y_i} P̃_ij``, P̃ the softmax of
    Ψ Ψᵀ over the labelled columns. A node's own mass is left out (with it, P = I would be a
    solution); void rows and nodes with no other node of their class are left out.

    Args:
        loss_weight (float): λ, the weight against the segmentation loss. Default: 1.0.
        class_balanced (bool): Average per class first, then over the classes present in the
            batch, so a pole node counts as much as the road's many; else over nodes.
            Default: True.
        ignore_index (int): The void label. Default: 255.
        chunk (int): Rows of P at a time (recomputed in backward). Default: 1024.
        loss_name (str): Default: 'loss_affinity'.
    """

    def __init__(self, *, loss_weight: float = 1.0, class_balanced: bool = True,
                 ignore_index: int = 255, chunk: int = CHUNK,
                 loss_name: str = 'loss_affinity') -> None:
        super().__init__()
        if not loss_weight >= 0:
            raise ValueError(f'AffinityLoss: loss_weight={loss_weight!r} must be >= 0.')
        self.loss_weight = float(loss_weight)
        self.class_balanced = class_balanced
        self.ignore_index = ignore_index
        self.chunk = chunk
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, psi: Tensor, labels: Tensor) -> Tensor:
        """Ψ (B, N, d), labels (B, N) -> the weighted loss (a scalar, 0 when no node has
        another node of its class)."""
        psi = psi.float()
        log_same, log_total = _log_same_and_total(psi, labels, self.ignore_index, True,
                                                  self.chunk)
        valid = labels != self.ignore_index
        lab = torch.where(valid, labels, torch.zeros_like(labels))
        K = int(lab.max()) + 1
        onehot = F.one_hot(lab, K) & valid[..., None]  # (B, N, K)
        counts = onehot.sum(1)  # (B, K)
        has_mate = valid & (counts.gather(1, lab) > 1)  # (B, N)
        nll = torch.where(has_mate, log_total - log_same, torch.zeros_like(log_same))
        if not bool(has_mate.any()):
            return psi.sum() * 0.0
        if not self.class_balanced:
            return self.loss_weight * nll.sum() / has_mate.sum()
        m = (onehot & has_mate[..., None]).flatten(0, 1).float()  # (B·N, K)
        per_class = nll.flatten() @ m  # (K,) sums over the batch
        n = m.sum(0)
        present = n > 0
        return self.loss_weight * (per_class[present] / n[present]).mean()
