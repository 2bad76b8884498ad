"""Post-processing any model's output: the joint bilateral upsampling equals bilinear where
colour is flat and stops at colour edges; the learned refiner is the identity at α = 0,
keeps probabilities summing to 1 and leaves confident pixels; the refiner trains from labels
alone; DenseCRF (pydensecrf2) smooths a noisy label map; PostProcessedSegmentor equals the
base model without a post-processor and loads the base's own checkpoint."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import batch, build, deeplabv2_cfg, logged
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_difnet.models.post_processing import joint_bilateral_upsample

REFINER = dict(
    type='AffinityRefiner',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size=(32, 32)),
    backbone=dict(type='MobileNetV2', widen_factor=0.5, out_indices=(0, 1)),
    in_channels=(8, 16), channels=16, embed_channels=8, num_classes=4)


@pytest.mark.parametrize('grid,size', [((4, 5), (16, 20)), ((7, 9), (30, 37)), ((3, 3), (3, 3)),
                                       ((5, 4), (11, 29))])
def test_joint_bilateral_upsampling_is_bilinear_on_flat_colour(grid, size):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(2, 3, *grid, generator=g)
    flat = torch.full((2, 3, *size), 90.0)
    ref = F.interpolate(z, size=size, mode='bilinear', align_corners=False)
    torch.testing.assert_close(joint_bilateral_upsample(z, flat, sigma=0.1), ref,
                               rtol=1e-4, atol=1e-5)
    assert torch.equal(joint_bilateral_upsample(z, flat, None), ref)


def test_joint_bilateral_upsampling_stops_at_a_colour_edge():
    """Left half black, right half white, the edge inside a grid cell's span: a pixel next to
    the edge takes its own side's value, where bilinear blends both."""
    z = torch.tensor([[[[1.0, 1.0, -1.0, -1.0]]]]).expand(1, 1, 2, 4).contiguous()  # (1,1,2,4)
    rgb = torch.zeros(1, 3, 8, 16)
    rgb[..., 8:] = 255.0  # the edge between columns 7 and 8, the cells' boundary
    out = joint_bilateral_upsample(z, rgb, sigma=0.1)
    bil = F.interpolate(z, size=(8, 16), mode='bilinear', align_corners=False)
    assert bil[0, 0, 0, 7].item() == pytest.approx(0.25)  # bilinear blends the sides
    assert out[0, 0, :, :8].min() > 0.99 and out[0, 0, :, 8:].max() < -0.99


def _probs(B=2, K=4, H=32, W=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(B, K, H, W, generator=g), 1), \
        torch.randint(0, 256, (B, 3, H, W), generator=g).float()


def test_the_refiner_is_the_identity_at_zero_gate_and_keeps_a_distribution():
    torch.manual_seed(0)
    probs, rgb = _probs()
    post = MODELS.build(dict(type='Refiner', refiner=REFINER, alpha=0.0))
    assert torch.equal(post(probs, rgb), probs)
    post.alpha = 2.0
    out = post(probs, rgb)
    assert out.shape == probs.shape and not torch.allclose(out, probs)
    torch.testing.assert_close(out.sum(1), torch.ones(2, 32, 32), rtol=0, atol=1e-5)
    certain = F.one_hot(torch.randint(0, 4, (2, 32, 32)), 4).permute(0, 3, 1, 2).float()
    assert torch.equal(post(certain, rgb), certain)  # max p = 1: the gate is 0
    # the change is P's: T steps of P on the pooled probabilities, against the dense P
    psi = post.refiner.embed(post.normalise(rgb))
    p_bar = F.adaptive_avg_pool2d(probs, psi.shape[-2:])
    P = torch.softmax(torch.einsum('bdn,bdm->bnm', psi.flatten(2), psi.flatten(2)), -1)
    y = p_bar.flatten(2).transpose(1, 2)
    for _ in range(post.steps):
        y = P @ y
    delta = (y.transpose(1, 2).reshape(p_bar.shape) - p_bar)
    torch.testing.assert_close(post.diffuse(probs, rgb),
                               joint_bilateral_upsample(delta, rgb, post.sigma),
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r'post_processor.temperature=0'):
        MODELS.build(dict(type='Refiner', refiner=REFINER, temperature=0))


def test_the_refiner_trains_from_labels_alone():
    """Its loss is the affinity loss of Ψ on the grid's labels; a few SGD steps on one batch
    lower it; the backbone's stages past stride 4 are gone (never run, never saved)."""
    torch.manual_seed(0)
    model = MODELS.build(REFINER).train()
    assert not any(k.startswith('backbone.layer3') for k in model.state_dict())
    assert model.backbone.layers == ['layer1', 'layer2']
    data = batch(model, [(32, 32)] * 2, num_classes=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(8):
        loss = model(**data, mode='loss')['loss_affinity']
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert model.embed(data['inputs']).shape == (2, 8, 8, 8)  # d = 8 at stride 4


def test_densecrf_smooths_an_isolated_pixel_and_keeps_a_distribution():
    """One pixel of class 1 (weakly) in a flat field of class 0 on a flat image: the CRF's
    pairwise terms flip it to its neighbours' class; a strong unary elsewhere is kept."""
    post = MODELS.build(dict(type='DenseCRF', iterations=5))
    probs = torch.zeros(1, 2, 24, 24)
    probs[:, 0] = 0.9
    probs[:, 1] = 0.1
    probs[0, :, 12, 12] = torch.tensor([0.4, 0.6])
    rgb = torch.full((1, 3, 24, 24), 128.0)
    out = post(probs, rgb)
    assert out.shape == probs.shape
    torch.testing.assert_close(out.sum(1), torch.ones(1, 24, 24), rtol=0, atol=1e-4)
    assert probs.argmax(1)[0, 12, 12] == 1 and out.argmax(1)[0, 12, 12] == 0
    assert (out.argmax(1) == 0).all()


def _wrapped(post_processor):
    base = deeplabv2_cfg(num_classes=4)
    base.data_preprocessor = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                                  std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
    return base, MODELS.build(dict(type='PostProcessedSegmentor', base=base,
                                   post_processor=post_processor))


def test_the_wrapper_equals_its_base_and_loads_the_bases_checkpoint():
    torch.manual_seed(0)
    base_cfg, model = _wrapped(None)
    base = build(base_cfg).eval()
    model.load_state_dict(base.state_dict())  # the base's own keys, without `base.`
    model.eval()
    g = torch.Generator().manual_seed(1)
    inputs = [torch.randint(0, 256, (3, 40, 48), generator=g, dtype=torch.uint8)]
    samples = [SegDataSample(metainfo=dict(img_shape=(40, 48), ori_shape=(40, 48),
                                           pad_shape=(40, 48)))]
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples))
    ref = base.predict(data['inputs'], [s.clone() for s in data['data_samples']])
    out = model.predict(data['inputs'], [s.clone() for s in data['data_samples']])
    assert torch.equal(out[0].pred_sem_seg.data, ref[0].pred_sem_seg.data)
    assert torch.allclose(out[0].seg_logits.data.softmax(0), ref[0].seg_logits.data.softmax(0),
                          atol=1e-6)
    # the refiner at α = 0 changes nothing either; its weights are not the wrapper's
    _, refined = _wrapped(dict(type='Refiner', refiner=REFINER, alpha=0.0))
    refined.load_state_dict(base.state_dict())
    refined.eval()
    assert list(refined.state_dict()) == list(base.state_dict())  # the base's own keys
    # mmengine's loader (load_from, init_model) fills in the refiner's own weights: nothing is
    # reported missing and the refiner keeps what it had
    from mmengine.runner.checkpoint import load_state_dict
    before = {k: v.clone() for k, v in refined.post.state_dict().items()}
    messages, _ = logged(lambda: load_state_dict(refined, base.state_dict(), logger='current'))
    assert not any('missing keys' in m or 'unexpected' in m for m in messages), messages
    assert all(torch.equal(v, before[k]) for k, v in refined.post.state_dict().items())
    out = refined.predict(data['inputs'], [s.clone() for s in data['data_samples']])
    assert torch.equal(out[0].pred_sem_seg.data, ref[0].pred_sem_seg.data)
    # the preprocessed input goes back to the image's RGB pixels
    rgb = model.rgb(data['inputs'])
    torch.testing.assert_close(rgb[0], inputs[0].flip(0).float(), rtol=0, atol=1e-3)
    with pytest.raises(RuntimeError, match='for testing and inference'):
        model.loss(data['inputs'], data['data_samples'])


@pytest.mark.slow
@pytest.mark.parametrize('post,same', [
    (None, True),
    (dict(type='Refiner', refiner=REFINER, alpha=0.0), True),  # the identity
    (dict(type='DenseCRF', iterations=5), False),
])
def test_mim_test_runs_a_wrapper_config_with_the_base_models_checkpoint(trained, tmp_path,
                                                                         post, same):
    """``mim test`` on a config that wraps the trained demo model (its dumped config) with a
    post-processor, given the demo's own checkpoint, as a user runs any model: it scores,
    and without a post-processor or at zero gate it scores exactly the base's mIoU;
    ``tools/infer.py`` segments an image with it."""
    import os
    import os.path as osp
    import re
    import subprocess
    import sys

    from helpers import ROOT
    wrapper = tmp_path / 'wrapper.py'
    wrapper.write_text(f'_base_ = [{trained["cfg_path"]!r}]\n'
                       'base_model = {{_base_.model}}\n'
                       "model = dict(_delete_=True, type='PostProcessedSegmentor', "
                       f'base=base_model, post_processor={post!r})\n')
    env = dict(os.environ, PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'],
               PYTHONPATH=ROOT)
    proc = subprocess.run(
        f'mim test mmseg {wrapper} --checkpoint {trained["ckpt"]} --work-dir w',
        shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    miou = float(re.findall(r'Iter\(test\).*?mIoU: ([0-9.]+)', out)[-1])
    base = float(trained['metrics']['mIoU'])
    assert 0 <= miou <= 100
    if same:
        assert miou == base, out[-2000:]
    # tools/infer.py runs the wrapper config as any model
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'infer.py'), str(wrapper),
                           trained['ckpt'], trained['image'], '--out', str(tmp_path / 'inf')],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert sorted(p.name for p in (tmp_path / 'inf').iterdir()) != []


@pytest.mark.parametrize('name', ['densecrf', 'refiner'])
def test_the_wrapper_configs_build_and_take_the_zoo_models_checkpoint(name):
    """configs/refiner/: the zoo FCN wrapped, its own state dict loads as it is; the refiner's
    training config builds a refiner whose Ψ the Refiner config's refiner can load."""
    import os.path as osp

    from helpers import ROOT
    from mmengine.config import Config

    from mmseg_difnet.utils import for_one_process
    cfg = for_one_process(Config.fromfile(
        osp.join(ROOT, 'configs', 'refiner', f'fcn_mv2-d8_camvid-240x320_2k_{name}.py')))
    zoo = for_one_process(Config.fromfile(
        osp.join(ROOT, 'configs', 'zoo', 'fcn_mv2-d8_camvid-240x320_2k.py')))
    if name == 'refiner':
        trainer = MODELS.build(Config.fromfile(osp.join(
            ROOT, 'configs', 'refiner', 'affinity-refiner_mv2_camvid-240x320.py')).model)
        post = MODELS.build(dict(cfg.model.post_processor, checkpoint=None))
        post.refiner.load_state_dict(trainer.state_dict())  # the same architecture
        cfg.model.post_processor.checkpoint = None
    torch.manual_seed(0)
    plain = MODELS.build(zoo.model)
    model = MODELS.build(cfg.model)
    model.load_state_dict(plain.state_dict())
    assert torch.equal(model.base.decode_head.conv_seg.weight, plain.decode_head.conv_seg.weight)
    model.eval()
    x = torch.randint(0, 256, (3, 48, 64), dtype=torch.uint8)
    data = model.data_preprocessor(dict(inputs=[x], data_samples=[SegDataSample(
        metainfo=dict(img_shape=(48, 64), ori_shape=(48, 64), pad_shape=(48, 64)))]))
    out = model.predict(data['inputs'], data['data_samples'])
    assert out[0].pred_sem_seg.data.shape == (1, 48, 64)


def test_the_refiner_config_carries_the_published_refiner():
    """configs/refiner/*_refiner.py points at the refiner the study used, published into the
    repository (tools/misc/publish_model.py): it loads into the config's Refiner, weights equal,
    its sidecar and record verified, and its weights hash is the one refine_zoo.json records."""
    import json
    import os.path as osp

    from helpers import ROOT
    from mmengine.config import Config

    from mmseg_difnet.checkpoint import verify_checkpoint
    from mmseg_difnet.checkpoint.integrity import state_dict_sha256
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'refiner',
                                   'fcn_mv2-d8_camvid-240x320_2k_refiner.py'))
    path = osp.join(ROOT, cfg.model.post_processor.checkpoint)
    verify_checkpoint(path)
    post = MODELS.build(dict(cfg.model.post_processor, checkpoint=path))
    state = torch.load(path)['state_dict']  # torch's default weights-only loader reads it
    assert sorted(state) == sorted(post.refiner.state_dict())
    assert all(torch.equal(v, state[k]) for k, v in post.refiner.state_dict().items())
    with open(osp.join(ROOT, 'benchmarks', 'refine_zoo.json')) as f:
        recorded = {r['refiner_weights_sha256'] for r in json.load(f)['runs'].values()
                    if 'refiner_weights_sha256' in r}
    assert recorded == {state_dict_sha256(state)[:16]}


def _tiny_camvid(root, n=3, size=(48, 64)):
    """CamVid's layout with ``n`` random frames per split (11 classes, void 11 -> 255)."""
    from PIL import Image
    g = np.random.default_rng(0)
    for split in ('val', 'test'):
        for folder in (split, split + 'annot'):
            (root / folder).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(g.integers(0, 256, (*size, 3), dtype=np.uint8)).save(
                root / split / f'0001TP_{i:06d}.png')
            Image.fromarray(g.integers(0, 11, size, dtype=np.uint8)).save(
                root / (split + 'annot') / f'0001TP_{i:06d}.png')


@pytest.mark.slow
def test_the_pilot_and_the_study_tools_run_end_to_end_on_tiny_data(tmp_path):
    """tools/studies/postprocess_pilot.py (val) and refine_zoo_study.py (test) on a tiny CamVid
    and a zoo FCN of random weights: the JSONs hold every setting and run; a rerun keeps the
    runs and adds none; the pilot refuses the test split."""
    import json
    import os.path as osp
    import subprocess
    import sys

    from helpers import ROOT
    from mmengine.config import Config

    from mmseg_difnet.utils import for_one_process
    data = tmp_path / 'camvid'
    _tiny_camvid(data)
    zoo = for_one_process(Config.fromfile(
        osp.join(ROOT, 'configs', 'zoo', 'fcn_mv2-d8_camvid-240x320_2k.py')))
    torch.manual_seed(0)
    run = tmp_path / 'zoo' / 'fcn_seed3'
    run.mkdir(parents=True)
    torch.save({'state_dict': MODELS.build(zoo.model).state_dict(), 'meta': {}},
               run / 'iter_2000.pth')
    (run / 'last_checkpoint').write_text(str(run / 'iter_2000.pth'))
    (run / 'done').touch()
    refiner = MODELS.build(Config.fromfile(osp.join(
        ROOT, 'configs', 'refiner', 'affinity-refiner_mv2_camvid-240x320.py')).model)
    torch.save({'state_dict': refiner.state_dict(), 'meta': {}}, tmp_path / 'refiner.pth')
    tools = osp.join(ROOT, 'tools', 'studies')
    study = [sys.executable, osp.join(tools, 'refine_zoo_study.py'), str(tmp_path / 'zoo'),
             '--refiner-checkpoint', str(tmp_path / 'refiner.pth'), '--camvid-root', str(data),
             '--json', str(tmp_path / 'refine_zoo.json')]
    for _ in range(2):  # the second call keeps the run
        proc = subprocess.run(study, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'fcn_seed3: in' in proc.stdout
    res = json.loads((tmp_path / 'refine_zoo.json').read_text())
    r = res['runs']['fcn_seed3']
    assert r['frames'] == 3 and set(r['cost_ratio']) == {'densecrf', 'refiner'}
    assert all(0 <= r[m]['mIoU'] <= 100 for m in ('plain', 'densecrf', 'refiner'))
    assert res['heads']['fcn']['seeds'] == [3]
    assert res['heads']['fcn']['refiner-plain_mIoU']['verdict'] is None  # one of 3 seeds
    pilot = [sys.executable, osp.join(tools, 'postprocess_pilot.py'), '--base', 'fcn',
             osp.join(ROOT, 'configs', 'zoo', 'fcn_mv2-d8_camvid-240x320_2k.py'),
             str(run / 'iter_2000.pth'), '--refiner-checkpoint', str(tmp_path / 'refiner.pth'),
             '--densecrf', '--camvid-root', str(data), '--out', str(tmp_path / 'pilot.json')]
    proc = subprocess.run(pilot, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    p = json.loads((tmp_path / 'pilot.json').read_text())
    assert len(p['refiner']['rows']) == 72 and len(p['densecrf']['rows']) == 12
    proc = subprocess.run(pilot[:-2] + ['--split', 'test', '--out', str(tmp_path / 'x.json')],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and 'the pilot reads val only' in proc.stderr


@pytest.mark.slow
def test_postprocess_cost_benchmark_writes_its_table(tmp_path):
    """tools/analysis_tools/postprocess_cost.py on two bases and one round: each post-processor
    timed beside the base, ratios in the JSON and the printed table; a missing image is named."""
    import json
    import os.path as osp
    import subprocess
    import sys

    from helpers import ROOT
    from PIL import Image
    yy, xx = np.mgrid[0:360, 0:480]
    img = np.stack([xx * 255 // 479, yy * 255 // 359, (xx + yy) % 256], -1).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / 'frame.png')
    script = osp.join(ROOT, 'tools', 'analysis_tools', 'postprocess_cost.py')
    out = tmp_path / 'cost.json'
    proc = subprocess.run([sys.executable, script, '--image', str(tmp_path / 'frame.png'),
                           '--arms', 'deeplabv2', 'fcn', '--rounds', '1', '--repeats', '1',
                           '--out', str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert res['threads'] == 1 and res['image'] == 'frame.png' and list(res['bases']) == [
        'deeplabv2', 'fcn']
    for r in res['bases'].values():
        for k in ('refiner', 'densecrf'):
            assert r[k]['median'] == pytest.approx(r[k]['seconds'] / r['base_seconds'])
    assert '| fcn |' in proc.stdout
    proc = subprocess.run([sys.executable, script, '--image', str(tmp_path / 'none.png')],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and 'none.png' in proc.stderr and '--image' in proc.stderr
