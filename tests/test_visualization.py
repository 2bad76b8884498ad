"""The mechanism-study tools: figures written at the expected size, transition rows that
sum to 1 before colouring, μ/β printed from a checkpoint equal to the model's."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import ROOT, build, difnet_cfg
from PIL import Image

from mmseg_difnet.checkpoint import walk_params_from_checkpoint
from mmseg_difnet.datasets.synthetic_voc import make_sample, voc_palette
from mmseg_difnet.visualization import diffusion_study as ds


@pytest.fixture(scope='module')
def model():
    m = build(difnet_cfg(depth=18, num_classes=21)).eval()
    for t, walk in enumerate(m.decode_head.walks):  # distinct, known values
        walk.mu_logit.data.fill_(0.1 * t - 0.2)
        walk.beta_logit.data.fill_(0.3 - 0.05 * t)
    return m


def test_figures_and_rows(model, tmp_path):
    rgb, label = make_sample(np.random.default_rng(0), 72)
    image = rgb[..., ::-1].copy()  # BGR
    result = ds.study(model, image, points=[(10, 20), (60, 5)])
    T, (h, w) = 5, (9, 9)
    assert result['P_rows'].shape == (2, T, h, w)
    np.testing.assert_allclose(result['P_rows'].sum((-2, -1)), 1.0, atol=1e-5)
    assert result['grid_points'] == [(2, 1), (0, 7)]
    assert result['y_argmax'].shape == (T, h, w) and result['E'].shape == (h, w)
    palette = np.array(voc_palette(), np.uint8).reshape(-1, 3)
    paths = ds.write_figures(result, image, str(tmp_path), palette, gt=label)
    expected = {'fig2': (5 * 220, 280), 'fig3': ((T + 1) * 220, 2 * 240 + 40),
                'fig4': ((T + 1) * 220, 280)}
    for key, size in expected.items():
        assert Image.open(paths[key]).size == size, key
    summary = Image.open(paths['summary']).size
    assert summary == (max(s[0] for s in expected.values()),
                       sum(s[1] + 8 for s in expected.values()))
    assert osp.isfile(tmp_path / 'table3.txt') and osp.isfile(tmp_path / 'table3.json')
    np.testing.assert_allclose(result['mu'], [w.mu.item() for w in model.decode_head.walks],
                               rtol=1e-6)


def test_print_walk_params_from_checkpoint(model, tmp_path):
    path = tmp_path / 'difnet.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    params = walk_params_from_checkpoint(str(path))
    mus = [w.mu.item() for w in model.decode_head.walks]
    betas = [w.beta.item() for w in model.decode_head.walks]
    assert params['mu'] == pytest.approx(mus, abs=1e-7)
    assert params['beta'] == pytest.approx(betas, abs=1e-7)
    out = subprocess.run([sys.executable,
                          f'{ROOT}/tools/analysis_tools/print_walk_params.py', str(path)],
                         capture_output=True, text=True, check=True).stdout
    for t, (m, b) in enumerate(zip(mus, betas)):
        assert f'| ⊕{t + 1} | {m:.4f} | {b:.4f} |' in out
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)}}, tmp_path / 'x.pth')
    with pytest.raises(ValueError, match='holds no DifNet walks'):
        walk_params_from_checkpoint(str(tmp_path / 'x.pth'))
