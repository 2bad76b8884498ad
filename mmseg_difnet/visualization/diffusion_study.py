# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The mechanism study of the DifNet paper (Sec. 5.3) for one image: Fig. 2 (score map x,
influence map E, importance map M), Fig. 3 (rows of every transition matrix P_t for chosen
pixels), Fig. 4 (seed and output after each walk) and Table 3 (μ_t, β_t)."""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image

Point = Tuple[int, int]  # (x, y) in image pixels


def default_points(h: int, w: int) -> List[Point]:
    """Four pixels spread over the image."""
    return [(w // 4, h // 4), (3 * w // 4, h // 4), (w // 4, 3 * h // 4), (3 * w // 4, 3 * h // 4)]


@torch.no_grad()
def study(model, image: np.ndarray, points: Optional[Sequence[Point]] = None) -> Dict:
    """Run the model on ``image`` (H, W, 3 BGR uint8) and collect the study's quantities.

    Returns numpy arrays: ``x_argmax`` (h, w), ``E`` and ``M`` (h, w), ``seed_argmax`` and
    ``y_argmax`` (T, h, w), ``P_rows`` (len(points), T, h, w) with every row of P_t summing
    to 1, ``points`` and ``grid_points`` (row, col on the grid), ``mu``, ``beta`` (T,).
    """
    from mmseg.structures import SegDataSample
    H, W = image.shape[:2]
    sample = SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W)))
    inputs = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    data = model.data_preprocessor(dict(inputs=[inputs], data_samples=[sample]), False)
    x_in = data['inputs']
    head = model.decode_head
    tr = head.trace(model.extract_feat(x_in))
    h, w = tr.s.shape[-2:]
    points = list(points) if points else default_points(H, W)
    outside = [(px, py) for px, py in points if not (0 <= px < W and 0 <= py < H)]
    if outside:
        raise ValueError(f'points {outside} (x,y) lie outside the image, which is {W}×{H} '
                         f'pixels: give 0 <= x < {W} and 0 <= y < {H}.')
    grid_points = [(min(int(py * h / H), h - 1), min(int(px * w / W), w - 1))
                   for px, py in points]
    idx = torch.tensor([r * w + c for r, c in grid_points])
    P_rows = [P[0, idx].reshape(-1, h, w)  # rows i of P_t: (n_points, h, w)
              for P in head.transition_matrices(tr)]
    mu, beta = head.walk_parameters()
    return dict(
        x_argmax=tr.x[0].argmax(0).numpy(), E=tr.E[0, 0].numpy(),
        M=tr.M[0, 0].numpy(), seed_argmax=tr.s[0].argmax(0).numpy(),
        y_argmax=np.stack([y[0].argmax(0).numpy() for y in tr.y]),
        P_rows=torch.stack(P_rows, 1).numpy(), points=points, grid_points=grid_points,
        mu=mu.numpy(), beta=beta.numpy())


def palette_of(model) -> np.ndarray:
    """The model's palette (``dataset_meta``), else VOC's 21 colours repeated to 256."""
    from mmseg.datasets import PascalVOCDataset
    pal = (getattr(model, 'dataset_meta', None) or {}).get('palette')
    if not pal:
        pal = np.tile(np.array(PascalVOCDataset.METAINFO['palette']), (13, 1))[:256]
    return np.array(pal, np.uint8)


def _colour(labels: np.ndarray, palette: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    img = palette[np.clip(labels, 0, len(palette) - 1)]
    img[labels == 255] = 255
    return np.asarray(Image.fromarray(img.astype(np.uint8)).resize(size, Image.NEAREST))


def _heat(values: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    import matplotlib
    v = (values - values.min()) / max(float(values.max() - values.min()), 1e-12)
    rgb = (matplotlib.colormaps['viridis'](v)[..., :3] * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR))


def _grid_figure(panels: List[List[Tuple[str, np.ndarray]]], path: str, title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows, cols = len(panels), max(len(r) for r in panels)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.4 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    for i, row in enumerate(panels):
        for j, (name, img) in enumerate(row):
            axes[i, j].imshow(img)
            axes[i, j].set_title(name, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_figures(result: Dict, image: np.ndarray, out_dir: str, palette: np.ndarray,
                  gt: Optional[np.ndarray] = None) -> Dict[str, str]:
    """Write fig2.png, fig3.png, fig4.png, table3.{txt,json} and summary.png."""
    os.makedirs(out_dir, exist_ok=True)
    H, W = image.shape[:2]
    size = (W, H)
    rgb = np.ascontiguousarray(image[..., ::-1])
    T = len(result['mu'])
    paths = {k: osp.join(out_dir, f'{k}.png') for k in ('fig2', 'fig3', 'fig4', 'summary')}

    fig2 = [('input', rgb)] + ([('ground truth', _colour(gt, palette, size))]
                               if gt is not None else [])
    fig2 += [('score map x (argmax)', _colour(result['x_argmax'], palette, size)),
             ('influence E = Σ|x_k|', _heat(result['E'], size)),
             ('importance M', _heat(result['M'], size))]
    _grid_figure([fig2], paths['fig2'], 'Fig. 2: seed branch')

    rows = []
    for k, ((px, py), p_rows) in enumerate(zip(result['points'], result['P_rows'])):
        marked = rgb.copy()
        marked[max(py - 2, 0):py + 3, max(px - 2, 0):px + 3] = (255, 0, 0)
        row = [(f'pixel {k + 1} ({px},{py})', marked)]
        for t in range(T):
            heat = _heat(p_rows[t], size)
            blend = (0.35 * rgb + 0.65 * heat).astype(np.uint8)
            blend[max(py - 2, 0):py + 3, max(px - 2, 0):px + 3] = (255, 0, 0)
            row.append((f'P_{t + 1} row', blend))
        rows.append(row)
    _grid_figure(rows, paths['fig3'], 'Fig. 3: rows of the transition matrices')

    fig4 = [('seed s', _colour(result['seed_argmax'], palette, size))]
    fig4 += [(f'after walk {t + 1}', _colour(result['y_argmax'][t], palette, size))
             for t in range(T)]
    _grid_figure([fig4], paths['fig4'], 'Fig. 4: seed and output after each walk')

    table = format_table3(result['mu'], result['beta'])
    with open(osp.join(out_dir, 'table3.txt'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(out_dir, 'table3.json'), 'w') as f:
        json.dump(dict(mu=[float(v) for v in result['mu']],
                       beta=[float(v) for v in result['beta']]), f, indent=2)

    sheets = [np.asarray(Image.open(paths[k]).convert('RGB')) for k in ('fig2', 'fig3', 'fig4')]
    width = max(s.shape[1] for s in sheets)
    sheets = [np.pad(s, ((0, 8), (0, width - s.shape[1]), (0, 0)), constant_values=255)
              for s in sheets]
    Image.fromarray(np.concatenate(sheets, 0)).save(paths['summary'])
    return paths


def format_table3(mu: Sequence[float], beta: Sequence[float]) -> str:
    lines = ['| walk | mu_t | beta_t |', '|---|---:|---:|']
    lines += [f'| ⊕{t + 1} | {m:.4f} | {b:.4f} |' for t, (m, b) in enumerate(zip(mu, beta))]
    return '\n'.join(lines)
