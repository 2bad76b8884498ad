# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Why do the walks learn (or not)? Measurements of a training run, written as it trains.

Shapes: B probe frames, K classes, N nodes of the diffusion grid, T walks.
"""
import copy
import json
import math
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmseg.models.utils import resize
from mmseg.registry import DATASETS, HOOKS
from torch import Tensor

from ..models.diffusion_head import DiffusionHead
from ..models.label_affinity import grid_labels, similarity_stats, similarity_summary
from ..utils.unwrap import unwrap_model
from .records import parameter_group, records_path


def transition_stats(P: Tensor, P0: Optional[Tensor]) -> Dict[str, float]:
    """Row statistics of one P_t (B, N, N): mean row entropy over log N (1: uniform rows,
    0: one-hot), mean row maximum, and the mean total-variation distance of a row from the
    run's first measurement P0 (0: unchanged, 1: disjoint)."""
    N = P.shape[-1]
    entropy = -(P * P.clamp_min(1e-30).log()).sum(-1).mean() / math.log(N)
    out = dict(entropy=float(entropy), row_max=float(P.amax(-1).mean()))
    if P0 is not None:
        out['tv_from_start'] = float(0.5 * (P - P0).abs().sum(-1).mean())
    return out


@HOOKS.register_module()
class WalkDiagnosticsHook(Hook):
    """Writes ``<work_dir>/walk_diagnostics.jsonl``: every ``interval`` iterations, for each
    parameter group (μ/β logits, the gate α, Ψ, H, seed head, backbone, similarity branch,
    auxiliary head) the RMS over the interval of the training gradient's norm and the
    interval's update, absolute and relative to the parameters; μ_t, β_t, α and the mean
    gradients of their logits; and, on ``probe_frames`` fixed validation frames (eval mode,
    the model's own pipeline, resized by ``probe_scale``), the gradient of the loss with
    respect to x, each y_t and the output, how much each walk changes its input, and the
    row entropy, row maximum and distance from the run's start of every P_t. Summarise it
    with ``python tools/analysis_tools/walk_diagnostics.py <work_dir>``.

    Works for plain models too (the groups that exist). Gradients are those of this rank,
    before DDP averages them (under AMP they are scaled by the loss scale).

    Args:
        interval (int): Iterations between two records. Default: 50.
        probe_frames (int): Fixed validation frames of the probe. Default: 2.
        probe_scale (float): Resize factor of the probe frames (P_t of a whole frame has N²
            entries). Default: 0.5.
    """

    priority = 'LOW'

    def __init__(self, interval: int = 50, probe_frames: int = 2,
                 probe_scale: float = 0.5) -> None:
        if not (isinstance(interval, int) and interval >= 1):
            raise ValueError(f'WalkDiagnosticsHook: interval={interval!r} must be an integer '
                             '>= 1.')
        self.interval = interval
        self.probe_frames = probe_frames
        self.probe_scale = probe_scale

    # ---- set-up ----------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        self.model = model = unwrap_model(runner.model)
        self.params: Dict[str, List[torch.nn.Parameter]] = {}
        self.names: Dict[torch.nn.Parameter, Tuple[str, str]] = {}  # param -> (name, group)
        for name, p in model.named_parameters():
            if p.requires_grad:
                group = parameter_group(name)
                self.params.setdefault(group, []).append(p)
                self.names[p] = (name, group)
        self.sq = {g: 0.0 for g in self.params}  # Σ over the interval of ‖grad‖² per iteration
        self.scalar_grads: Dict[str, float] = {}  # Σ of the grads of μ, β logits and α
        self.steps = 0
        self.handles = [p.register_post_accumulate_grad_hook(self._grad_hook)
                        for ps in self.params.values() for p in ps]
        self.last = {g: [p.detach().clone() for p in ps] for g, ps in self.params.items()}
        self.P0: Optional[List[Tensor]] = None
        self.probe = self._probe_batch(runner)
        self.path = records_path(runner.work_dir)
        self._record(runner, runner.iter)

    def _grad_hook(self, p: torch.nn.Parameter) -> None:
        # tensors, added on the parameter's device: no host synchronisation per parameter
        g, (name, group) = p.grad.detach(), self.names[p]
        self.sq[group] = self.sq[group] + g.float().pow(2).sum()
        if g.numel() == 1:
            self.scalar_grads[name] = self.scalar_grads.get(name, 0.0) + g.float().reshape(())

    def _probe_batch(self, runner):
        """The first ``probe_frames`` validation frames (the train set's when there is no
        val set), through the model's data preprocessor, resized by ``probe_scale``. The
        dataset is built from the config alone: building a dataloader draws a sampler seed
        from NumPy's global generator, which would change the training run."""
        loader_cfg = runner.cfg.get('val_dataloader') or runner.cfg.get('train_dataloader')
        dataset = DATASETS.build(copy.deepcopy(loader_cfg['dataset']))
        samples = [dataset[i] for i in range(min(self.probe_frames, len(dataset)))]
        data = self.model.data_preprocessor(
            dict(inputs=[s['inputs'] for s in samples],
                 data_samples=[s['data_samples'] for s in samples]), False)
        inputs = data['inputs']
        labels = torch.stack([s.gt_sem_seg.data for s in data['data_samples']])  # (B,1,H,W)
        if self.probe_scale != 1:
            inputs = resize(inputs, scale_factor=self.probe_scale, mode='bilinear',
                            align_corners=False)
            labels = F.interpolate(labels.float(), size=inputs.shape[2:],
                                   mode='nearest').long()
        return inputs, labels[:, 0]  # (B, 3, H', W'), (B, H', W')

    # ---- records ---------------------------------------------------------------------------
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.steps += 1
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self._record(runner, runner.iter + 1, outputs)

    def after_train(self, runner) -> None:
        for h in self.handles:
            h.remove()

    def _record(self, runner, it: int, outputs: Optional[dict] = None) -> None:
        row = dict(iter=it, steps=self.steps, groups={})
        if outputs and 'loss' in outputs:
            row['loss'] = float(outputs['loss'])
        lrs = runner.optim_wrapper.get_lr() if hasattr(runner, 'optim_wrapper') else {}
        if lrs:
            row['lr'] = float(next(iter(lrs.values()))[0])
        for g, ps in self.params.items():
            now = [p.detach() for p in ps]
            norm = math.sqrt(sum(float(p.float().pow(2).sum()) for p in now))
            step = math.sqrt(sum(float((p - q).float().pow(2).sum())
                                 for p, q in zip(now, self.last[g])))
            row['groups'][g] = dict(
                numel=sum(p.numel() for p in now), norm=norm,
                grad_rms=math.sqrt(float(self.sq[g]) / self.steps) if self.steps else None,
                update=step, update_rel=step / norm if norm else None)
            self.last[g] = [p.clone() for p in now]
        if self.steps:
            row['scalar_grad_mean'] = {k: float(v) / self.steps
                                       for k, v in self.scalar_grads.items()}
        head = self.model.decode_head
        if isinstance(head, DiffusionHead):
            mu, beta = head.walk_parameters()
            row['mu'], row['beta'] = mu.tolist(), beta.tolist()
            row['probe'] = self._probe(head)
        self.sq = {g: 0.0 for g in self.params}
        self.scalar_grads, self.steps = {}, 0
        if is_main_process():
            with open(self.path, 'a') as f:
                f.write(json.dumps(row) + '\n')

    def _probe(self, head: DiffusionHead) -> dict:
        """Gradients reaching the walks and the state of every P_t on the probe frames."""
        inputs, labels = self.probe
        training = self.model.training
        self.model.eval()
        try:
            with torch.enable_grad():
                feats = self.model.extract_feat(inputs)
                tr = head.trace(feats)
                logits = resize(tr.out, size=labels.shape[1:], mode='bilinear',
                                align_corners=head.align_corners)
                loss = F.cross_entropy(logits, labels, ignore_index=head.ignore_index)
                wrt = [tr.x, *tr.y, tr.out]
                grads = torch.autograd.grad(loss, wrt, allow_unused=True)
            grad_norm = [None if g is None else float(g.norm()) for g in grads]
            with torch.no_grad():
                ys = [tr.s, *tr.y]
                change = [float((b - a).norm() / a.norm().clamp_min(1e-12))
                          for a, b in zip(ys[:-1], ys[1:])]
                Ps = head.transition_matrices(tr)
                first = self.P0 is None
                if first:
                    self.P0 = [P.clone() for P in Ps]
                stats = [transition_stats(P, P0) for P, P0 in zip(Ps, self.P0)]
                lab = grid_labels(labels, tuple(tr.s.shape[2:]))  # (B, N)
                names_k = [str(k) for k in range(head.num_classes)]
                for st, psi in zip(stats, tr.psi):  # the similarity score of each P_t
                    sim = similarity_summary(similarity_stats(
                        psi, lab, head.num_classes, head.ignore_index), names_k)
                    st.update(same_class=sim['same'], chance=sim['chance'], lift=sim['lift'],
                              self_mass=sim['self'],
                              same_class_per_class=[sim[f'same.{k}'] for k in names_k])
                x = resize(tr.x, size=tr.out.shape[2:], mode='bilinear',
                           align_corners=head.align_corners)
                changed = float((x.argmax(1) != tr.out.argmax(1)).float().mean())
        finally:
            self.model.train(training)
        names = ['x'] + [f'y{t + 1}' for t in range(len(tr.y))] + ['out']
        return dict(loss=float(loss), grad_norm=dict(zip(names, grad_norm)),
                    walk_change=change, P=stats, argmax_changed=changed)
