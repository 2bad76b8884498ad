"""Bad input gets an error naming the key or file and the fix; the walk is a convex
combination (property test)."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from helpers import ROOT, build, difnet_cfg, tiny_cfg
from hypothesis import given, settings
from hypothesis import strategies as st
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, HOOKS, MODELS
from mmseg.structures import SegDataSample

from mmseg_difnet.checkpoint import read_checkpoint
from mmseg_difnet.models.propagation import propagate, transition_matrix


def test_num_classes_differs_from_dataset(data_dir, tmp_path):
    cfg = tiny_cfg(data_dir, tmp_path)
    cfg.model.decode_head.num_classes = 5
    with pytest.raises(ValueError, match=r'model.decode_head.num_classes=5 but the '
                       r'train_dataloader dataset \(ConcatDataset\) has 21 classes: set '
                       r'model.decode_head.num_classes=21'):
        Runner.from_cfg(cfg).train()


def test_walks_and_levels_differ():
    cfg = difnet_cfg(depth=18)
    cfg.decode_head.sim_channels = (3, 64, 128, 256)
    with pytest.raises(ValueError, match=r'sim_channels=\(3, 64, 128, 256\) but the neck '
                       r'\(SimilarityBackbone\) gives 5 similarity levels'):
        build(cfg)


def test_level_channels_differ():
    """A wrong sim_channels used to build and fail at the first forward, naming neither the
    walk nor the tuple expected; it is checked at build time against the neck, and derived
    from it when left out."""
    cfg = difnet_cfg(depth=18)
    cfg.decode_head.sim_channels = (3, 64, 128, 256, 2048)
    with pytest.raises(ValueError, match=r'sim_channels=\(3, 64, 128, 256, 2048\) but the neck '
                       r'\(SimilarityBackbone\) gives 5 similarity levels with \(3, 64, 128, '
                       r'256, 512\) channels \(walk 4: 2048 vs 512\)\. Leave sim_channels out'):
        build(cfg)
    cfg.decode_head.pop('sim_channels')
    model = build(cfg)
    assert model.decode_head.sim_channels == (3, 64, 128, 256, 512)
    assert model(torch.randn(1, 3, 33, 33), mode='tensor').shape == (1, 4, 5, 5)


@pytest.mark.parametrize('in_index', [-1, 4])
def test_in_index_must_select_a_seed_stage(in_index):
    """in_index=-1 would read the similarity branch's last level: the seed backbone would get
    no gradient (issue: 0 of 60 parameters), silently."""
    cfg = difnet_cfg(depth=18)
    cfg.decode_head.in_index = in_index
    model = build(cfg)
    with pytest.raises(ValueError, match=rf'in_index={in_index} does not select one of the 4 '
                       r'seed-backbone stages \(0..3\).*Use in_index=3'):
        model(torch.randn(1, 3, 33, 33), mode='tensor')


def test_input_smaller_than_output_stride():
    """Checked on the seed head's own grid: a 5×5 input gives a 1×1 score map (refused); a
    5×40 one a 1×5 grid, which diffuses (it used to be refused by a stride computed from the
    backbone's strides, which is wrong for MiT, Swin, UPerNet...)."""
    model = build(difnet_cfg(depth=18)).eval()
    with pytest.raises(ValueError, match=r"DifNetHead: the seed head's score map is 1×1: a "
                       'single node, nothing to diffuse. The input is smaller than'):
        model(torch.randn(1, 3, 5, 5), mode='tensor')
    assert model(torch.randn(1, 3, 5, 40), mode='tensor').shape == (1, 4, 1, 5)


def _raw_batch(H=33, W=33, num_classes=4):
    """A batch as the dataloader gives it (before the data preprocessor): uint8 images."""
    g = torch.Generator().manual_seed(0)
    sample = SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W), pad_shape=(H, W),
                                         seg_map_path='labels/a.png', img_path='images/a.jpg'))
    sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, H, W), generator=g))
    return dict(inputs=[torch.randint(0, 256, (3, H, W), generator=g, dtype=torch.uint8)],
                data_samples=[sample])


def test_label_values_out_of_range():
    """Training checks the batch as the dataloader gives it (check_batch, which the package's
    ConfigCheckHook calls before every iteration): labels, and a float input's NaN/Inf."""
    model = build(difnet_cfg(depth=18, num_classes=4)).train()
    data = _raw_batch()
    model.check_batch(data)  # a valid batch passes
    data['data_samples'][0].gt_sem_seg.data[0, 5, 5] = 7
    with pytest.raises(ValueError, match=r'training: label values \[7\] in labels/a.png lie '
                       r'outside \[0, 4\) and are not the ignore index 255'):
        model.check_batch(data)
    data['inputs'][0] = data['inputs'][0].float()
    data['inputs'][0][1, 2, 3] = float('inf')
    data['data_samples'][0].gt_sem_seg.data[0, 5, 5] = 1
    with pytest.raises(ValueError, match=r"training: the input of \['images/a.jpg'\] holds 1 "
                       'NaN/Inf values'):
        model.check_batch(data)


def test_unreadable_label_file_is_named(data_dir, tmp_path):
    import shutil
    d = tmp_path / 'data'
    shutil.copytree(data_dir, d)
    bad = d / 'VOCdevkit' / 'VOC2012' / 'SegmentationClass' / 'syn_val_00001.png'
    bad.write_bytes(b'not a png')
    dataset = DATASETS.build(tiny_cfg(str(d), tmp_path / 'w').val_dataloader.dataset)
    with pytest.raises(OSError, match=r"cannot read the label file '.*syn_val_00001.png'"):
        dataset[1]


def test_unreadable_image_file_is_named(data_dir, tmp_path):
    import shutil
    d = tmp_path / 'data'
    shutil.copytree(data_dir, d)
    (d / 'VOCdevkit' / 'VOC2012' / 'JPEGImages' / 'syn_val_00000.jpg').write_bytes(b'x')
    ds_cfg = tiny_cfg(str(d), tmp_path / 'w').train_dataloader.dataset  # LoadImageChecked
    for part in ds_cfg.get('datasets', [ds_cfg]):
        part.ann_file = 'ImageSets/Segmentation/val.txt'
    dataset = DATASETS.build(ds_cfg)
    with pytest.raises(ValueError, match=r"image file '.*syn_val_00000.jpg' \(1 bytes\) could "
                       'not be decoded'):
        dataset[0]


@pytest.mark.parametrize('cut', ['half', 'empty'])
def test_truncated_or_empty_image_is_named_everywhere(data_dir, tmp_path, cut):
    """A JPEG cut to half its bytes used to be decoded partly (the rest grey) and silently
    trained on and scored; a 0-byte PNG gave a raw cv2.error in tools/infer.py. (The frames
    validation and testing score are checked before the loop:
    tests/test_run_start_checks.py.)"""
    import shutil
    d = tmp_path / 'data'
    shutil.copytree(data_dir, d)
    img = d / 'VOCdevkit' / 'VOC2012' / 'JPEGImages' / 'syn_val_00000.jpg'
    data = img.read_bytes()
    img.write_bytes(data[:len(data) // 2] if cut == 'half' else b'')
    why = 'is truncated: the JPEG' if cut == 'half' else r'is empty \(0 bytes\)'
    cfg = tiny_cfg(str(d), tmp_path / 'w')
    for split in ('train_dataloader', ):  # the training pipeline's LoadImageChecked
        ds_cfg = cfg[split].dataset
        for part in ds_cfg.get('datasets', [ds_cfg]):
            part.ann_file = 'ImageSets/Segmentation/val.txt'
        dataset = DATASETS.build(ds_cfg)
        with pytest.raises(ValueError, match=rf"image file '.*syn_val_00000.jpg' {why}"):
            dataset[0]
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'infer.py'),
                           osp.join(ROOT, 'configs', 'difnet', 'difnet_r18_synthetic.py'),
                           'none.pth', str(img)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and re.search(rf"image file '.*syn_val_00000.jpg' {why}",
                                               proc.stderr), proc.stderr[-2000:]


def test_missing_data_root(tmp_path):
    proc = subprocess.run(
        [sys.executable, f'{ROOT}/tools/train.py', f'{ROOT}/configs/difnet/difnet_r50_voc.py',
         '--work-dir', 'w'], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0
    assert (f"data_root '{tmp_path}/data/VOCdevkit/VOC2012' (PascalVOCDataset) does not "
            'exist. Prepare it as in docs/data.md') in proc.stderr


def test_checkpoint_of_another_architecture(data_dir, tmp_path):
    cfg = tiny_cfg(data_dir, tmp_path / 'w')
    other = MODELS.build(dict(cfg.model, decode_head=dict(cfg.model.decode_head,
                                                          num_classes=4))).state_dict()
    ckpt = tmp_path / 'other.pth'  # 4 classes, not 21, and no similarity branch
    torch.save({'state_dict': {k: v for k, v in other.items() if 'neck' not in k}}, ckpt)
    cfg.load_from = str(ckpt)
    with pytest.raises(ValueError, match=r'does not fit this model .* missing keys 120 '
                       r'\(neck.backbone.bn1.bias, .*shape mismatches 13 '
                       r'\(decode_head.conv_seg.0.bias'):
        Runner.from_cfg(cfg).test()


@HOOKS.register_module()
class DivergeAfterIteration2Hook(Hook):
    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == 2:
            for group in runner.optim_wrapper.param_groups:
                group['lr'] = 1e30


def test_nan_loss_stops_and_keeps_last_good_checkpoint(data_dir, tmp_path):
    cfg = tiny_cfg(data_dir, tmp_path / 'w', iters=6)
    cfg.default_hooks.checkpoint.interval = 2
    cfg.custom_hooks.append(dict(type='DivergeAfterIteration2Hook'))
    runner = Runner.from_cfg(cfg)
    with pytest.raises(RuntimeError, match=r'(the training loss is (nan|inf)|a weight became '
                       r'NaN or Inf after the update).* at iteration [34]: training stopped. '
                       r'Last good checkpoint: .*iter_2.pth'):
        runner.train()
    assert not osp.exists(tmp_path / 'w' / 'iter_4.pth')
    last = open(tmp_path / 'w' / 'last_checkpoint').read().strip()
    assert last.endswith('iter_2.pth')
    state = read_checkpoint(last)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


WALK = MODELS.build(dict(type='RandomWalk', in_channels=6, embed_channels=16)).eval()


@settings(max_examples=40, deadline=None)
@given(scale=st.floats(0.01, 30.0), side=st.integers(1, 12), K=st.integers(1, 8),
       mu=st.floats(0.001, 0.999), beta=st.floats(0.001, 0.999), seed=st.integers(0, 2**16))
def test_walk_is_a_convex_combination(scale, side, K, mu, beta, seed):
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(1, 6, 2 * side + 1, 2 * side, generator=g) * scale
    y = torch.randn(1, K, side, side, generator=g)
    s = torch.randn(1, K, side, side, generator=g)
    WALK.mu_logit.data.fill_(torch.logit(torch.tensor(mu)).item())
    WALK.beta_logit.data.fill_(torch.logit(torch.tensor(beta)).item())
    with torch.no_grad():
        out = WALK(f, y, s)
        psi = WALK.embed(f, (side, side))
        P = transition_matrix(psi)
        Py = propagate(psi, y.flatten(2).transpose(1, 2)).transpose(1, 2).reshape_as(y)
    assert torch.isfinite(out).all() and torch.isfinite(P).all()
    torch.testing.assert_close(P.sum(-1), torch.ones(1, side * side), rtol=0, atol=1e-5)
    stack = torch.stack([s, y, Py])
    tol = 1e-5 * (1 + stack.abs().amax(0))
    assert (out >= stack.amin(0) - tol).all() and (out <= stack.amax(0) + tol).all()


def test_in_index_list_for_the_aspp_v2_seed_is_named():
    """decode_head.in_index=[3] used to stop on a bare AssertionError inside mmseg."""
    cfg = difnet_cfg(depth=18)
    cfg.decode_head.in_index = [3]
    with pytest.raises(ValueError, match=r'DifNetHead: decode_head.in_index=\[3\] must be one '
                       'integer'):
        MODELS.build(cfg)


def test_cfg_option_without_a_value_is_a_usage_error():
    """`--cfg-options train_cfg.max_iters` (no '=') used to fail inside mmengine with `not
    enough values to unpack`."""
    cfg = osp.join(ROOT, 'configs', 'difnet', 'difnet_r18_synthetic.py')
    for tool in ('train.py', 'test.py'):
        args = [cfg] + (['x.pth'] if tool == 'test.py' else [])
        proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', tool), *args,
                               '--cfg-options', 'model.pretrained=None', 'train_cfg.max_iters'],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert ("--cfg-options train_cfg.max_iters: every option is KEY=VALUE, e.g. "
                "train_cfg.max_iters=<value>") in proc.stderr


def test_a_batch_with_an_image_of_another_size_names_the_files():
    """A training batch with one image larger than data_preprocessor.size used to fail with
    torch's `stack expects each tensor to be equal size`, naming no file."""
    model = build(difnet_cfg(depth=18))
    model.data_preprocessor.size, model.data_preprocessor.size_divisor = (48, 48), None
    data = dict(inputs=[torch.zeros(3, 48, 48, dtype=torch.uint8),
                        torch.zeros(3, 64, 48, dtype=torch.uint8)], data_samples=[])
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    for i, img in enumerate(data['inputs']):
        s = SegDataSample(metainfo=dict(img_path=f'JPEGImages/{i}.jpg',
                                        img_shape=tuple(img.shape[-2:])))
        s.gt_sem_seg = PixelData(data=torch.zeros(1, *img.shape[-2:], dtype=torch.long))
        data['data_samples'].append(s)
    with pytest.raises(ValueError, match=r'different sizes \(JPEGImages/0.jpg: \(48, 48\); '
                       r'JPEGImages/1.jpg: \(64, 48\)\).*pads to size=\(48, 48\)'):
        model.data_preprocessor(data, training=True)
