# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""An interactive page of the walks for one image (the paper's Fig. 2-4 in a browser), or of
the learned refiner's P (a ``PostProcessedSegmentor`` with a ``Refiner``).

One self-contained HTML file (``diffusion_page.html`` with the data inlined; no network, no
server): the image as the model sees it, the label when given, x, M, s, y_1 .. y_T and the
prediction as class maps; a click on any pixel shows, for every walk, that node's row of
P_t = softmax(Ψ_t Ψ_tᵀ) as a heat map over the image, the node's class scores through the
cascade and, with a label, its same-class mass per walk. The page carries Ψ_t on the
diffusion grid (N × d float32 per walk, the tensors the walks use) and computes a row on
click as the model does (:func:`..models.random_walk.transition_matrix`), never N × N.
"""
import base64
import io
import json
import os
import os.path as osp
import time
from html import escape
from typing import Dict, List, Optional, Sequence
from urllib.parse import quote

import numpy as np
import torch
import torch.nn.functional as F
from mmseg.apis.utils import _preprare_data  # private: see page_data
from PIL import Image

from ..models.label_affinity import sample_grid_labels
from .diffusion_study import palette_of

TEMPLATE = osp.join(osp.dirname(__file__), 'diffusion_page.html')
JSON_IN_SCRIPT = str.maketrans({'<': '\\u003c', '>': '\\u003e', '&': '\\u0026'})


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode('ascii')


def _png(rgb: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format='PNG', optimize=True)
    return 'data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode('ascii')


def _on_grid(t: torch.Tensor, grid, align_corners: bool) -> torch.Tensor:
    """A (1, C, h', w') map on the diffusion grid (x and M are on the seed's grid, which is
    coarser when ``grid_scale`` > 1), resized as the head resizes x."""
    if tuple(t.shape[-2:]) == tuple(grid):
        return t
    return F.interpolate(t, size=tuple(grid), mode='bilinear', align_corners=align_corners)


def _walks(model, inputs: torch.Tensor) -> Dict:
    """A diffusion head's walks: Ψ_t, the cascade's stages and M on the diffusion grid."""
    head = model.decode_head
    tr = head.trace(model.extract_feat(inputs))
    grid = tuple(tr.s.shape[-2:])
    stages = {k: _on_grid(v, grid, head.align_corners) for k, v in tr.stages().items()}
    return dict(grid=grid, psi=list(tr.psi), stages=stages,
                M=_on_grid(tr.M, grid, head.align_corners), M_caption='M, the importance map',
                level_names=['×'.join(str(v) for v in f.shape[1:]) for f in tr.levels])


def _refiner(model, inputs: torch.Tensor, samples) -> Dict:
    """A :class:`PostProcessedSegmentor`'s learned refiner (one P for every step): Ψ·√τ,
    the base's p̄, y_1 .. y_T, the refined probabilities and the gate, on its grid."""
    post = model.post
    metas = [s.metainfo for s in samples]
    probs = torch.softmax(model.base.inference(inputs, metas).float(), dim=1)  # (1, K, H, W)
    rgb = model.rgb(inputs)
    psi, p_bar, ys = post.walk(probs, rgb)
    grid = tuple(p_bar.shape[-2:])
    stages = dict(base=p_bar, **{f'step{t + 1}': y for t, y in enumerate(ys)},
                  refined=F.adaptive_avg_pool2d(post(probs, rgb), grid))
    return dict(grid=grid, psi=[psi], stages=stages,
                M=F.adaptive_avg_pool2d(post.gate(probs), grid),
                M_caption='gate min(1, α(1 − max p)): how far the base may change',
                level_names=[f'the refiner\'s Ψ·√τ, τ {post.temperature:g}, '
                             f'{post.steps} step(s)'])


@torch.no_grad()
def page_data(model, image: np.ndarray, label: Optional[np.ndarray] = None) -> Dict:
    """What the page shows, for ``image`` (H, W, 3 BGR uint8) through the config's test
    pipeline and data preprocessor (as ``inference_model``) and ``label`` (H, W class
    indices; 255 and any value that is no class are void) at the image's size: the walks of
    a diffusion head (DifNetHead, DiffusionHead), or the P of the learned refiner of a
    ``PostProcessedSegmentor`` (post_processor ``Refiner``). Arrays are base64 strings of
    little-endian float32 / uint8; the page's ``row`` and Python's P agree to float
    precision."""
    head = model.decode_head
    refined = type(getattr(model, 'post', None)).__name__ == 'Refiner'
    if not (hasattr(head, 'trace') or refined):
        raise ValueError(f'the decode head is {type(head).__name__}, not a diffusion head '
                         '(DifNetHead or DiffusionHead), and the model has no learned refiner '
                         "(PostProcessedSegmentor with post_processor=dict(type='Refiner')): "
                         'there are no walks to show.')
    # mmseg 1.2 has no public function that turns an array into the model's test-pipeline
    # input without running the model (inference_model runs it; MMSegInferencer builds its
    # own model from a config): this is the data path inference_model itself takes
    data, _ = _preprare_data(image, model)
    shown = data['inputs'][0].numpy()[::-1].transpose(1, 2, 0)  # (H, W, 3) RGB, as fed
    data = model.data_preprocessor(data, False)
    inputs, samples = data['inputs'], data['data_samples']
    meta = samples[0].metainfo
    H, W = meta['img_shape'][:2]
    padding = list(meta.get('img_padding_size', meta.get('padding_size', [0, 0, 0, 0])))
    src = _refiner(model, inputs, samples) if refined else _walks(model, inputs)
    grid = src['grid']
    N = grid[0] * grid[1]
    pred = model.predict(inputs, samples)[0].pred_sem_seg.data[0].cpu().numpy()  # ori size
    classes = list((getattr(model, 'dataset_meta', None) or {}).get('classes')
                   or [str(k) for k in range(head.num_classes)])
    palette = palette_of(model)[:len(classes)]
    import matplotlib
    lut = (matplotlib.colormaps['viridis'](np.linspace(0, 1, 256))[:, :3] * 255).round()
    out = dict(
        image=_png(np.ascontiguousarray(shown)), image_size=[H, W],
        input_size=list(inputs.shape[-2:]), padding=padding, grid=list(grid),
        walks=len(src['psi']), embed_channels=int(src['psi'][0].shape[-1]), classes=classes,
        palette=palette.astype(int).tolist(), colormap=lut.astype(int).tolist(),
        zoom=max(1, 320 // max(W, 1)), level_names=src['level_names'],
        stage_names=list(src['stages']),
        stage_scores=[_b64(v[0].float().reshape(-1, N).numpy().astype('<f4'))
                      for v in src['stages'].values()],  # (K, N) each
        M=_b64(src['M'][0, 0].float().numpy().astype('<f4')), M_caption=src['M_caption'],
        psi=[_b64(p[0].float().numpy().astype('<f4')) for p in src['psi']],  # (N, d) each
        prediction=_b64(np.asarray(Image.fromarray(pred.astype(np.uint8)).resize(
            (W, H), Image.NEAREST))),
        label=None, grid_labels=None)
    if label is not None:  # values that are no class (CamVid's 11, "unlabelled") are void
        label = np.where(np.asarray(label) < len(classes), label, head.ignore_index)
        lab = torch.from_numpy(label.astype(np.int64))
        out['grid_labels'] = _b64(sample_grid_labels(
            lab, (H, W), padding, grid, head.ignore_index)[0].numpy().astype(np.uint8))
        out['label'] = _b64(np.asarray(Image.fromarray(np.asarray(label, np.uint8)).resize(
            (W, H), Image.NEAREST)))
    return out


def render(data: Dict, title: str) -> str:
    """The page's HTML: the template with ``data`` inlined as JSON."""
    with open(TEMPLATE, encoding='utf-8') as f:
        html = f.read()
    # names from a checkpoint or a file (classes, title) stay text: in the inlined JSON no
    # '<', '>' or '&' can open a tag, a comment or an entity (JSON.parse reads the escapes)
    payload = json.dumps(data, separators=(',', ':')).translate(JSON_IN_SCRIPT)
    return html.replace('__TITLE__', escape(title)).replace('__DATA__', payload)


def write_page(model, image: np.ndarray, path: str, label: Optional[np.ndarray] = None,
               title: Optional[str] = None) -> Dict:
    """Write the page for one image to ``path``; returns its path, size, nodes and seconds."""
    t0 = time.perf_counter()
    data = page_data(model, image, label)
    html = render(data, title or osp.basename(path))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(html)
    return dict(path=path, bytes=osp.getsize(path), nodes=data['grid'][0] * data['grid'][1],
                walks=data['walks'], seconds=time.perf_counter() - t0)


def write_index(pages: Sequence[Dict], path: str) -> str:
    """An index page linking the pages of a folder of images."""
    items: List[str] = [
        f'<li><a href="{escape(quote(osp.relpath(p["path"], osp.dirname(path))))}">'
        f'{escape(osp.basename(p["path"]))}</a> ({p["bytes"] / 1e6:.1f} MB)</li>'
        for p in pages]
    with open(path, 'w', encoding='utf-8') as f:
        f.write('<!DOCTYPE html><meta charset="utf-8"><title>DifNet walks</title>'
                f'<h1>DifNet walks: {len(pages)} images</h1><ul>{"".join(items)}</ul>')
    return path
