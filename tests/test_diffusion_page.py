"""The interactive page of the walks: what it carries equals the model's tensors,
and in a real headless Chromium a click at a pixel draws, for every walk, that node's row of
P_t equal to the model's P_t rows to float precision."""
import base64
import copy
import os
import os.path as osp
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import ROOT
from mmseg.apis import init_model
from PIL import Image

from mmseg_difnet.checkpoint import checked_loading
from mmseg_difnet.datasets import imread_checked
from mmseg_difnet.models.label_affinity import sample_grid_labels
from mmseg_difnet.visualization.diffusion_page import page_data, write_index, write_page

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync']


def floats(b64, shape):
    return np.frombuffer(base64.b64decode(b64), '<f4').reshape(shape)


@pytest.fixture(scope='module')
def page_model(trained):
    with checked_loading():  # mmseg's init_model with this package's checks (weights-only)
        model = init_model(trained['cfg_path'], trained['ckpt'], device='cpu')
    image = imread_checked(trained['image'])
    label_path = trained['image'].replace('JPEGImages', 'SegmentationClass').replace('.jpg',
                                                                                   '.png')
    label = np.asarray(Image.open(label_path))
    return model, image, label


def reference(model, image):
    """The model's own tensors for the page's image, through inference_model's data path."""
    from mmseg.apis.utils import _preprare_data
    data = model.data_preprocessor(_preprare_data(image, model)[0], False)
    head = model.decode_head
    with torch.no_grad():
        tr = head.trace(model.extract_feat(data['inputs']))
        P = head.transition_matrices(tr)
    return data, tr, P


def test_the_page_carries_the_walks_tensors(page_model, tmp_path):
    model, image, label = page_model
    data = page_data(model, image, label)
    ref, tr, _ = reference(model, image)
    h, w = data['grid']
    N, d, K = h * w, data['embed_channels'], len(data['classes'])
    assert data['walks'] == len(tr.psi) == 5 and (h, w) == tuple(tr.s.shape[-2:])
    for t in range(5):  # Ψ_t exactly as the walks use it
        np.testing.assert_array_equal(floats(data['psi'][t], (N, d)), tr.psi[t][0].numpy())
    names = data['stage_names']
    assert names == ['x', 's', 'y1', 'y2', 'y3', 'y4', 'y5']
    np.testing.assert_array_equal(floats(data['stage_scores'][names.index('y5')], (K, N)),
                                  tr.y[-1][0].reshape(K, N).numpy())
    meta = ref['data_samples'][0].metainfo
    grid_lab = sample_grid_labels(torch.from_numpy(label.astype(np.int64)),
                                  meta['img_shape'][:2], [0, 0, 0, 0], (h, w))[0].numpy()
    np.testing.assert_array_equal(
        np.frombuffer(base64.b64decode(data['grid_labels']), np.uint8), grid_lab)
    info = write_page(model, image, str(tmp_path / 'p.html'), label)
    assert info['bytes'] == osp.getsize(tmp_path / 'p.html') and info['nodes'] == N
    html = open(tmp_path / 'p.html').read()
    assert 'http://' not in html and 'https://' not in html  # nothing from the network


REFINER = dict(
    type='Refiner', steps=2, alpha=0.7, temperature=2.0, sigma=None,
    refiner=dict(type='AffinityRefiner',
                 data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                                        std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
                 backbone=dict(type='MobileNetV2', widen_factor=0.5, out_indices=(0, 1)),
                 in_channels=(8, 16), channels=16, embed_channels=8, num_classes=21))


@pytest.fixture(scope='module')
def refiner_model(trained, tmp_path_factory):
    """The trained demo model wrapped with a learned refiner (random Ψ: the page shows
    whatever P the refiner has), as a user's config wraps a zoo model."""
    wrapper = tmp_path_factory.mktemp('refiner') / 'wrapper.py'
    wrapper.write_text(f'_base_ = [{trained["cfg_path"]!r}]\n'
                       'base_model = {{_base_.model}}\n'
                       "model = dict(_delete_=True, type='PostProcessedSegmentor', "
                       f'base=base_model, post_processor={REFINER!r})\n')
    torch.manual_seed(0)
    with checked_loading():
        model = init_model(str(wrapper), trained['ckpt'], device='cpu')
    image = imread_checked(trained['image'])
    return model, image


def refiner_reference(model, image):
    """The refiner's own tensors for the page's image: Ψ·√τ (N, d), p̄, y_t, the gate."""
    from mmseg.apis.utils import _preprare_data
    data = model.data_preprocessor(_preprare_data(image, model)[0], False)
    with torch.no_grad():
        metas = [s.metainfo for s in data['data_samples']]
        probs = torch.softmax(model.base.inference(data['inputs'], metas), 1)
        rgb = model.rgb(data['inputs'])
        psi, p_bar, ys = model.post.walk(probs, rgb)
    P = torch.softmax(psi[0].double() @ psi[0].double().T, dim=1)  # (N, N), independently
    return data, psi, p_bar, ys, P, model.post.gate(probs)


def test_the_page_carries_the_refiners_p_and_its_steps(refiner_model):
    model, image = refiner_model
    data = page_data(model, image)
    ref, psi, p_bar, ys, P, gate = refiner_reference(model, image)
    h, w = data['grid']
    N, d, K = h * w, data['embed_channels'], len(data['classes'])
    Hin, Win = ref['inputs'].shape[-2:]
    assert data['walks'] == 1 and (h, w) == (-(-Hin // 4), -(-Win // 4)) and d == 8
    np.testing.assert_array_equal(floats(data['psi'][0], (N, d)), psi[0].numpy())
    # Ψ·√τ: the page's softmax(ψ_i · ψ_j) is the refiner's P at temperature 2
    raw = model.post.refiner.embed(model.post.normalise(model.rgb(ref['inputs'])))
    np.testing.assert_allclose(floats(data['psi'][0], (N, d)),
                               raw[0].flatten(1).T.detach().numpy() * np.sqrt(2.0), rtol=1e-6)
    assert data['stage_names'] == ['base', 'step1', 'step2', 'refined']
    np.testing.assert_array_equal(floats(data['stage_scores'][0], (K, N)),
                                  p_bar[0].reshape(K, N).numpy())
    # step 2 = P² p̄, with P built here from Ψ (double precision)
    two = (P @ (P @ p_bar[0].reshape(K, N).double().T)).T.numpy()
    np.testing.assert_allclose(floats(data['stage_scores'][2], (K, N)), two, rtol=1e-4,
                               atol=1e-6)
    assert np.allclose(floats(data['stage_scores'][3], (K, N)).sum(0), 1, atol=1e-5)
    np.testing.assert_allclose(floats(data['M'], (h, w)),
                               F.adaptive_avg_pool2d(gate, (h, w))[0, 0].numpy(), rtol=1e-6)
    assert data['M_caption'].startswith('gate')


def test_a_model_without_walks_is_refused(tmp_path):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'difnet', 'deeplabv2_r18_synthetic.py'))
    cfg.model.backbone.init_cfg = None
    model = init_model(cfg, device='cpu')
    with pytest.raises(ValueError, match='not a diffusion head .*no learned refiner.*no walks'):
        page_data(model, np.zeros((64, 64, 3), np.uint8))


def _browser():
    """Playwright's Chromium on the system's browser: a skip naming what is missing, unless
    DIFNET_REQUIRE_BROWSER=1 (CI, after `make test-browser` installed both)."""
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append('the Python package playwright (make test-browser installs it)')
        sync_playwright = None
    if not (osp.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        missing.append(f'the browser {CHROMIUM} (Debian: apt-get install chromium; or set '
                       'CHROMIUM=/path/to/chromium)')
    if missing:
        message = 'the browser tests need ' + ' and '.join(missing)
        if os.environ.get('DIFNET_REQUIRE_BROWSER') == '1':
            pytest.fail(message)
        pytest.skip(message)
    return sync_playwright


@pytest.mark.browser
def test_a_click_draws_the_nodes_rows_of_every_p_t(page_model, tmp_path):
    sync_playwright = _browser()
    model, image, label = page_model
    path = tmp_path / 'walks.html'
    write_page(model, image, str(path), label)
    ref, tr, P = reference(model, image)
    h, w = tr.s.shape[-2:]
    meta = ref['data_samples'][0].metainfo
    H, W = meta['img_shape'][:2]
    left, _, top, _ = meta.get('img_padding_size', [0, 0, 0, 0])
    Hin, Win = ref['inputs'].shape[-2:]
    grid_lab = np.frombuffer(base64.b64decode(page_data(model, image, label)['grid_labels']),
                             np.uint8)
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={'width': 1600, 'height': 1200})
        page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_function('window.difnetPage && window.difnetPage.state.node !== null')
        zoom = page.evaluate('window.difnetPage.zoom')
        for x, y in ((5, 7), (W - 3, H // 2), (W // 2, H - 2)):
            page.locator('#image').click(position={'x': (x + 0.5) * zoom,
                                                   'y': (y + 0.5) * zoom})
            state = page.evaluate('window.difnetPage.state')
            assert state['pixel'] == [x, y]
            r = min(h - 1, int((y + top + 0.5) * h / Hin))
            c = min(w - 1, int((x + left + 0.5) * w / Win))
            node = r * w + c
            assert state['node'] == node
            rows = [P[t][0, node].double().numpy() for t in range(5)]
            for t in range(5):  # the page's row of P_t = the model's, to float precision
                row = np.array(state['rows'][t])
                assert abs(row.sum() - 1) < 1e-9
                np.testing.assert_allclose(row, rows[t], rtol=2e-5, atol=1e-7)
            for name, v in tr.stages().items():  # the node's class scores through the cascade
                if v.shape[-2:] != (h, w):  # x on the seed's grid (grid_scale 2): resized
                    v = torch.nn.functional.interpolate(
                        v, size=(h, w), mode='bilinear',
                        align_corners=model.decode_head.align_corners)
                np.testing.assert_allclose(state['scores'][name], v[0, :, r, c].numpy(),
                                           rtol=1e-5, atol=1e-6)
            if grid_lab[node] != 255:  # its same-class mass per walk
                same = (grid_lab == grid_lab[node]) & (np.arange(h * w) != node)
                np.testing.assert_allclose(state['same_class'], [row[same].sum() for row in rows],
                                           rtol=1e-5, atol=1e-7)
            else:
                assert state['same_class'] == []
        shot = tmp_path / 'walks.png'
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert errors == []
    assert Image.open(shot).size[0] >= 4 * W * zoom


@pytest.mark.browser
def test_a_click_draws_the_nodes_row_of_the_refiners_p(refiner_model, tmp_path):
    """The learned refiner's page: a click at a pixel draws that node's row of the
    refiner's P = softmax(τ Ψ Ψᵀ), equal to P built in Python; its scores through the steps."""
    sync_playwright = _browser()
    model, image = refiner_model
    path = tmp_path / 'refiner.html'
    write_page(model, image, str(path))
    ref, psi, p_bar, ys, P, _ = refiner_reference(model, image)
    h, w = p_bar.shape[-2:]
    H, W = ref['data_samples'][0].metainfo['img_shape'][:2]
    Hin, Win = ref['inputs'].shape[-2:]
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={'width': 1600, 'height': 1200})
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_function('window.difnetPage && window.difnetPage.state.node !== null')
        zoom = page.evaluate('window.difnetPage.zoom')
        assert page.locator('#map-M + figcaption').text_content().startswith('gate')
        for x, y in ((2, 3), (W - 1, H // 3)):
            page.locator('#image').click(position={'x': (x + 0.5) * zoom,
                                                   'y': (y + 0.5) * zoom})
            state = page.evaluate('window.difnetPage.state')
            r = min(h - 1, int((y + 0.5) * h / Hin))
            c = min(w - 1, int((x + 0.5) * w / Win))
            assert state['node'] == r * w + c and len(state['rows']) == 1
            np.testing.assert_allclose(state['rows'][0], P[r * w + c].numpy(), rtol=2e-5,
                                       atol=1e-7)
            np.testing.assert_allclose(state['scores']['step2'], ys[1][0, :, r, c].numpy(),
                                       rtol=1e-5, atol=1e-6)
        browser.close()
    assert errors == []


HOSTILE = ['<img src=x onerror="window.pwned=1">', '<!--<script>', 'a&amp;b', '</script>',
           'q" onmouseover="window.pwned=2']


@pytest.mark.browser
def test_names_from_checkpoints_and_files_stay_text(page_model, tmp_path):
    """Class names (the checkpoint's dataset_meta), the title and file names are shown as
    text: no element, attribute or comment comes from them, and the page's script runs."""
    sync_playwright = _browser()
    model, image, label = page_model
    model = copy.copy(model)
    classes = (HOSTILE * 2)[:model.decode_head.num_classes]
    model.dataset_meta = dict(model.dataset_meta, classes=classes)
    pages = [write_page(model, image, str(tmp_path / name), label, title=HOSTILE[0])
             for name in ('<img src=x onerror="window.pwned=3">.html',
                          'q" onmouseover="window.pwned=4.html')]
    index = write_index(pages, str(tmp_path / 'index.html'))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        errors = []
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.goto(Path(pages[0]['path']).as_uri())
        page.wait_for_function('window.difnetPage && window.difnetPage.state.node !== null')
        assert page.evaluate('window.pwned') is None and errors == []
        assert page.locator('img').count() == 0  # the image is drawn on canvases
        legend = page.locator('#legend span').all_text_contents()
        assert legend == classes
        headers = page.locator('#scores th').all_text_contents()
        assert headers[1:1 + len(classes)] == classes
        assert page.title() == HOSTILE[0]
        page.goto(Path(index).as_uri())
        links = page.locator('li a')
        assert links.all_text_contents() == [osp.basename(pg['path']) for pg in pages]
        for i, pg in enumerate(pages):  # each link leads to its page
            assert links.nth(i).get_attribute('href') is not None
            assert page.locator('li a').nth(i).evaluate('a => decodeURIComponent(a.pathname)') \
                == pg['path']
        page.locator('li a').nth(1).hover()
        assert page.evaluate('window.pwned') is None and page.locator('img').count() == 0
        browser.close()
