"""Deploy: the export paths of the walk equal the eager ones, the input checks step
aside while exporting, tools/deployment/pytorch2onnx.py gives graphs that ONNX Runtime and
OpenVINO run to the PyTorch model's logits (sizes that are and are not multiples of 8, fixed
and dynamic), the numpy-only Segmenter runs without torch or mmseg, and tools/infer.py's
backends draw the PyTorch picture. The weights have every BatchNorm γ non-zero and running
statistics from real forward passes: with mmseg's γ = 0 at the end of each ResNet block the
TorchScript exporter folds the dead branches away, and parity would check nothing."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from helpers import ROOT, build, difnet_cfg
from parity_lib import PARITY_SIZES as SIZES
from parity_lib import nonzero_bn_checkpoint
from PIL import Image

from mmseg_difnet.deployment import ExportWrapper
from mmseg_difnet.deployment.build import build_for_export as build_model
from mmseg_difnet.deployment.segmenter import Segmenter
from mmseg_difnet.models import export_pooling
from mmseg_difnet.models import propagation as rw
from mmseg_difnet.utils import exporting

TOOL = osp.join(ROOT, 'tools', 'deployment', 'pytorch2onnx.py')


@pytest.mark.parametrize('H,W,h,w', [(8, 8, 4, 4), (7, 9, 3, 4), (5, 5, 8, 8), (13, 17, 5, 7),
                                     (1, 3, 2, 2), (64, 80, 30, 40), (10, 7, 7, 10),
                                     (33, 33, 17, 9), (3, 3, 3, 3)])
def test_the_export_pooling_equals_adaptive_max_pool2d(H, W, h, w):
    # grids larger, smaller, equal to and not dividing the input
    x = torch.randn(2, 3, H, W, generator=torch.Generator().manual_seed(H * W + h))
    assert torch.equal(export_pooling.adaptive_max_pool2d(x, (h, w)),
                       F.adaptive_max_pool2d(x, (h, w)))


def test_the_export_walk_equals_the_dense_one_whole_and_in_row_blocks():
    g = torch.Generator().manual_seed(0)
    psi, y = 0.3 * torch.randn(2, 300, 16, generator=g), torch.randn(2, 300, 5, generator=g)
    ref = rw.dense_propagate(psi, y)
    torch.testing.assert_close(rw.export_propagate(psi, y), ref)  # whole: N <= dense_max
    blocks = rw.export_propagate(psi, y, chunk=64, dense_max=100)  # 5 row blocks
    torch.testing.assert_close(blocks, ref, rtol=1e-5, atol=1e-6)


def test_the_input_checks_step_aside_while_exporting():
    model = build(difnet_cfg()).eval()
    bad = torch.full((1, 3, 8, 8), float('nan'))
    assert not exporting()
    with pytest.raises(ValueError, match='NaN/Inf'):
        model._check(bad, None, 'validation/test')

    class Checked(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            self.model._check(x, None, 'validation/test')  # data-dependent `if` in eager
            return x * 2

    # before: torch.export stopped at `if not inputs.isfinite().all()`
    program = torch.export.export(Checked(), (torch.rand(1, 3, 8, 8),), strict=False)
    assert program.module()(torch.ones(1, 3, 8, 8)).sum() == 2 * 3 * 64


def export(tmp_path, config, *args):
    ckpt = nonzero_bn_checkpoint(osp.join(ROOT, 'configs', 'difnet', config),
                                 str(tmp_path / 'model.pth'))
    out = str(tmp_path / 'model.onnx')
    proc = subprocess.run([sys.executable, TOOL, osp.join(ROOT, 'configs', 'difnet', config),
                           ckpt, out, '--output', 'logits', *args],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return ckpt, out


def reference(config, ckpt, image):
    # the training path: the exported graph is of the deployed model (fused walks)
    _, model = build_model(osp.join(ROOT, 'configs', 'difnet', config), ckpt, deploy=False)
    with torch.no_grad():
        return ExportWrapper(model, 'logits')(torch.from_numpy(image)).numpy()


@pytest.mark.slow
@pytest.mark.parametrize('config,exporter,dynamic', [
    ('difnet_r18_synthetic.py', 'dynamo', True),  # grid_scale 2: walks on coarser levels
    ('difnet_r18_synthetic.py', 'torchscript', False),  # mmdeploy's exporter, fixed size
    ('difnet_mv2-d8_camvid-240x320.py', 'dynamo', True),
    ('deeplabv2_mv2-d8_camvid-240x320.py', 'dynamo', True),
    ('difnet-deeplabv3plus_mv2-d8_camvid-240x320.py', 'dynamo', True),  # DiffusionHead
    ('difnet-pspnet_mv2-d8_camvid-240x320.py', 'dynamo', False),
])
def test_exported_graphs_give_the_pytorch_logits(tmp_path, config, exporter, dynamic):
    ckpt, out = export(tmp_path, config, '--shape', '96', '128', '--exporter', exporter,
                       *(['--dynamic'] if dynamic else []))
    model = onnx.load(out)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta == json.load(open(out + '.json'))  # in the model and beside it
    assert meta['exporter'] == exporter and meta['input'].startswith('image: float32')
    ops = [n.op_type for n in model.graph.node]
    assert 'Pad' not in ops  # no test padding, and no zero columns for the fused kernels
    g = torch.Generator().manual_seed(1)
    backends = ['onnxruntime', 'openvino']
    for h, w in SIZES if dynamic else SIZES[:1]:
        image = (torch.rand(1, 3, h, w, generator=g) * 255).numpy()
        ref = reference(config, ckpt, image)
        # logits that vary over the image by 1,000 times the absolute tolerance below: the
        # parity means something (the zoo heads' small conv_seg init gives |logit| ~ 1)
        assert ref.std() > 1000 * 1e-4, ref.std()
        for backend in backends:
            got = Segmenter(out, backend).run(image)
            assert got.shape == ref.shape
            # 1e-4 of the logits' scale: at |logit| ~ 25 PyTorch's fp32 itself is 3e-4 from
            # its fp64 result, so an absolute 1e-4 would ask more than fp32 holds
            tol = 1e-4 * max(1.0, float(np.abs(ref).max()))
            diff = float(np.abs(got - ref).max())
            assert diff <= tol, (backend, h, w, diff)
            # the argmax: the same wherever PyTorch's top two differ by more than the error
            # can move them (at a near-tie either answer is fp32's), and 99.9% overall
            top2 = np.sort(ref, axis=1)[:, -2:]
            clear = (top2[:, 1] - top2[:, 0]) > 2 * diff
            same = got.argmax(1) == ref.argmax(1)
            assert same[clear].all() and same.mean() >= 0.999, (backend, h, w, same.mean())


def test_a_dynamic_torchscript_export_is_refused_with_the_reason():
    proc = subprocess.run([sys.executable, TOOL, 'any.py', 'none', 'x.onnx', '--dynamic',
                           '--exporter', 'torchscript'], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "--dynamic needs --exporter dynamo: the TorchScript tracer records the walks'" \
        in proc.stderr


BLOCKER = '''
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('torch', 'mmcv', 'mmengine', 'mmseg', 'mmseg_difnet', 'cv2'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
import importlib.util, numpy as np
spec = importlib.util.spec_from_file_location('segmenter', sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
seg = mod.Segmenter(sys.argv[2], sys.argv[3], threads=1)
rgb = np.load(sys.argv[4])
np.save(sys.argv[5], seg(rgb))
print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'mmseg', 'mmcv')))
'''


@pytest.mark.slow
def test_the_segmenter_runs_with_numpy_and_the_backend_alone(tmp_path):
    config = 'difnet_r18_synthetic.py'
    ckpt, out = export(tmp_path, config, '--shape', '64', '80', '--dynamic')
    rgb = np.random.default_rng(0).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    np.save(tmp_path / 'rgb.npy', rgb)
    ref = reference(config, ckpt, rgb.transpose(2, 0, 1)[None].astype(np.float32))[0].argmax(0)
    for backend in ('onnxruntime', 'openvino'):
        proc = subprocess.run(
            [sys.executable, '-c', BLOCKER,
             osp.join(ROOT, 'mmseg_difnet', 'deployment', 'segmenter.py'), out, backend,
             str(tmp_path / 'rgb.npy'), str(tmp_path / 'labels.npy')],
            capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.strip().splitlines()[-1] == '[]'  # no torch, mmseg, mmcv loaded
        labels = np.load(tmp_path / 'labels.npy')
        assert labels.shape == (70, 90) and (labels == ref).all()
    # what a service is handed: refused with the value and the fix, or converted and said
    seg = Segmenter(out, 'onnxruntime')
    nan = rgb.astype(np.float32)
    nan[0, 0, 0] = np.nan
    for bad, match in ((nan, 'holds 1 NaN/Inf values'),
                       (rgb / 255.0, r'looks scaled to 0..1; .*\(img \* 255\)'),
                       (rgb.astype(np.uint16) * 257, r'span 0..65535 .*\(img / 257\)'),
                       (np.zeros((0, 0, 3), np.uint8), r'the image is empty \(0×0\)'),
                       (rgb.transpose(2, 0, 1), r'looks channel-first; .*transpose\(1, 2, 0\)'),
                       (rgb.tolist(), 'is a list, not a numpy array')):
        with pytest.raises((ValueError, TypeError), match=match):
            seg(bad)
    with pytest.warns(UserWarning, match='an int64 image in 0..255 is converted to uint8'):
        assert (seg(rgb.astype(np.int64)) == ref).all()
    assert (seg(rgb.astype(np.float32)) == ref).all()  # float in 0..255: the graph's own
    # the sidecar gone: ONNX Runtime reads the model's own metadata, OpenVINO cannot
    import os
    os.remove(out + '.json')
    assert Segmenter(out, 'onnxruntime').meta['exporter'] == 'dynamo'
    with pytest.raises(ValueError, match=r'carries no export metadata .* Copy the .json'):
        Segmenter(out, 'openvino')


@pytest.mark.slow
def test_infer_backends_draw_the_pytorch_picture(trained, tmp_path):
    out = str(tmp_path / 'model.onnx')
    proc = subprocess.run([sys.executable, TOOL, trained['cfg_path'], trained['ckpt'], out,
                           '--output', 'logits', '--shape', '64', '64', '--dynamic'],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    preds = {}
    for backend, model in (('pytorch', trained['ckpt']), ('onnxruntime', out),
                           ('openvino', out)):
        d = tmp_path / backend
        proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'infer.py'),
                               trained['cfg_path'], model, trained['image'], '--out', str(d),
                               '--backend', backend], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        name = osp.splitext(osp.basename(trained['image']))[0]
        preds[backend] = np.asarray(Image.open(d / f'{name}_pred.png'))
    assert preds['pytorch'].shape == (64, 64)
    assert (preds['onnxruntime'] == preds['pytorch']).all()
    assert (preds['openvino'] == preds['pytorch']).all()
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'infer.py'),
                           trained['cfg_path'], trained['ckpt'], trained['image'],
                           '--backend', 'onnxruntime'], capture_output=True, text=True)
    assert proc.returncode == 2 and 'takes the exported model (.onnx)' in proc.stderr


def small_onnx(tmp_path, H='H', W='W'):
    """A four-conv graph with the exporter's input name and a metadata sidecar: enough work a
    call for concurrent calls to overlap, built with onnx alone (no export)."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    inits, nodes, prev, c = [], [], 'image', 3
    for i, co in enumerate((32, 32, 32, 11)):
        w = (rng.standard_normal((co, c, 3, 3)) / (3 * c) ** 0.5).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f'w{i}'))
        nodes.append(helper.make_node('Conv', [prev, f'w{i}'], [f'h{i}'], pads=[1, 1, 1, 1]))
        prev, c = f'h{i}', co
    graph = helper.make_graph(
        nodes, 'g', [helper.make_tensor_value_info('image', TensorProto.FLOAT, [1, 3, H, W])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 11, H, W])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    path = str(tmp_path / 'small.onnx')
    onnx.save(model, path)
    with open(path + '.json', 'w') as f:
        json.dump(dict(classes='null', palette='null'), f)
    return path


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_one_segmenter_serves_several_threads(tmp_path, backend):
    from concurrent.futures import ThreadPoolExecutor
    seg = Segmenter(small_onnx(tmp_path), backend)
    rng = np.random.default_rng(1)
    images = [(rng.random((1, 3, 96, 128)) * 255).astype(np.float32) for _ in range(88)]
    ref = [seg.run(x) for x in images]  # each result its own array, not the request's buffer
    assert not np.array_equal(ref[0], ref[1])
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(seg.run, images))
    assert sum(not np.array_equal(a, b) for a, b in zip(ref, got)) == 0


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_a_fixed_size_model_refuses_another_size_by_name(tmp_path, backend):
    seg = Segmenter(small_onnx(tmp_path, 96, 128), backend)
    assert seg.fixed_size == (96, 128)
    assert seg.run(np.zeros((1, 3, 96, 128), np.float32)).shape == (1, 11, 96, 128)
    with pytest.raises(ValueError, match=r'height 100 .* exported for a fixed 96×128 .* '
                                         r'Resize the image .* --dynamic'):
        seg.run(np.zeros((1, 3, 100, 128), np.float32))
    assert Segmenter(small_onnx(tmp_path), backend).fixed_size == (None, None)
