"""What a zoo user met, one test per item; each failed before its fix."""
import re
import subprocess
import sys

import pytest
import torch
from helpers import ROOT, tiny_cfg
from mmengine.config import Config
from mmseg.registry import MODELS

SYNTHETIC = f'{ROOT}/configs/difnet'


def _saved(model, path):
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


def _test_py(args, cwd):
    return subprocess.run([sys.executable, f'{ROOT}/tools/test.py', *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_per_walk_with_mmsegs_iou_metric_and_on_a_plain_model(data_dir, tmp_path):
    """--per-walk printed no per-walk rows and no warning with mmseg's IoUMetric (every zoo
    config's evaluator), and said nothing on a plain model."""
    import mmseg_difnet  # noqa: F401
    root = f'{data_dir}/VOCdevkit/VOC2012'
    opts = ['--cfg-options', f'test_dataloader.dataset.data_root={root}',
            'model.data_preprocessor.size=(64,64)']
    cfg = Config.fromfile(f'{SYNTHETIC}/difnet_r18_synthetic.py')
    ckpt = _saved(MODELS.build(cfg.model), tmp_path / 'difnet.pth')
    proc = _test_py([f'{SYNTHETIC}/difnet_r18_synthetic.py', ckpt, '--work-dir', 'w',
                     '--per-walk', *opts, "test_evaluator.type=IoUMetric"], tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert '--per-walk: test_evaluator IoUMetric -> PerWalkIoUMetric' in out
    assert re.search(r'mIoU_y5: \d', out) and re.search(r'mIoU_x: \d', out)
    plain = Config.fromfile(f'{SYNTHETIC}/deeplabv2_r18_synthetic.py')
    ckpt = _saved(MODELS.build(plain.model), tmp_path / 'deeplabv2.pth')
    proc = _test_py([f'{SYNTHETIC}/deeplabv2_r18_synthetic.py', ckpt, '--per-walk', *opts],
                    tmp_path)
    assert proc.returncode != 0
    assert ("--per-walk needs a model with diffusion (model.type='DifNetEncoderDecoder'); "
            "this config's model is 'CheckedEncoderDecoder', which has no walks") in proc.stderr


def test_cascade_segmentors_and_mask2former_are_refused_naming_what_is_supported():
    """OCRNet failed with "unexpected keyword argument 'num_stages'", then a dictionary
    update error, then "OCRHead.forward() missing 'prev_output'"; Mask2Former with a bare
    AssertionError."""
    from mmengine.registry import init_default_scope

    import mmseg_difnet  # noqa: F401
    init_default_scope('mmseg')
    supported = r'Diffusion needs a decode head that maps the backbone stages to a score map'
    with pytest.raises(ValueError, match=r'a cascade segmentor \(CascadeEncoderDecoder: '
                       r'num_stages, a list of decode heads, as OCRNet and PointRend\) is not '
                       r'supported'):
        MODELS.build(dict(type='DifNetEncoderDecoder', num_stages=2,
                          backbone=dict(type='ResNetV1c', depth=18),
                          neck=dict(type='SharedSimilarity'),
                          decode_head=[dict(type='FCNHead'), dict(type='OCRHead')]))
    for head, why in (('OCRHead', 'is a cascade head'), ('Mask2FormerHead',
                                                          'is no BaseDecodeHead')):
        with pytest.raises(ValueError, match=rf'DiffusionHead: decode_head.seed_head is a '
                           rf'{head}, which {why}.*{supported}'):
            MODELS.build(dict(type='DiffusionHead', seed_head=dict(type=head),
                              in_channels=[64, 128], in_index=[0, 1], num_classes=4))


def test_a_plain_checkpoint_as_load_from_names_seed_checkpoint(data_dir, tmp_path):
    """load_from=<plain checkpoint> listed missing keys and advised switching the check off
    (which would leave the seed head untrained)."""
    from mmseg.apis import init_model
    plain = Config.fromfile(f'{SYNTHETIC}/deeplabv2_r18_synthetic.py')
    ckpt = _saved(MODELS.build(plain.model), tmp_path / 'deeplabv2.pth')
    with pytest.raises(ValueError, match=r"It is the checkpoint of this model's plain version "
                       r'.*--cfg-options model.seed_checkpoint=<it>.*not as load_from') as e:
        init_model(tiny_cfg(data_dir, tmp_path / 'w'), ckpt, device='cpu')
    assert 'check_checkpoint=False' not in str(e.value)


def test_new_classes_restarts_the_classifiers_and_keeps_the_rest(data_dir, tmp_path):
    """A zoo checkpoint of another class count was refused with no way to keep its backbone
    and restart the classifiers (mmseg users fine-tune so)."""
    from helpers import logged
    from mmengine.runner.checkpoint import load_checkpoint
    cfg = tiny_cfg(data_dir, tmp_path / 'w')
    five = MODELS.build(dict(cfg.model, decode_head=dict(cfg.model.decode_head, num_classes=5)))
    ckpt = _saved(five, tmp_path / 'five.pth')
    model = MODELS.build(dict(cfg.model, check_checkpoint='new_classes'))
    init = {k: v.clone() for k, v in model.state_dict().items()}
    messages, _ = logged(lambda: load_checkpoint(model, ckpt, map_location='cpu'))
    state = model.state_dict()
    for k, v in five.state_dict().items():
        if v.shape == state[k].shape:
            assert torch.equal(state[k], v), k  # everything that fits is loaded
        else:
            assert torch.equal(state[k], init[k]), k  # the heads' class tensors: their init
    assert any(re.search(r'check_checkpoint=new_classes: \d+ tensors of the heads for another '
                         r'number of classes start from their init: decode_head.conv_seg', m)
               for m in messages), messages
    other = MODELS.build(dict(cfg.model, check_checkpoint='new_classes',
                              backbone=dict(cfg.model.backbone, depth=34)))
    with pytest.raises(ValueError, match='does not fit this model'):
        load_checkpoint(other, ckpt, map_location='cpu')  # the rest must still fit


def test_the_loader_is_named_local_in_the_log(tmp_path):
    """Every load logged "Loads checkpoint by ied backend" (mmengine names the loader after
    its function's name, and load_verified became "ied")."""
    from helpers import logged
    from mmengine.runner.checkpoint import CheckpointLoader

    import mmseg_difnet  # noqa: F401
    torch.save({'state_dict': {}}, tmp_path / 'x.pth')
    messages, _ = logged(lambda: CheckpointLoader.load_checkpoint(str(tmp_path / 'x.pth')))
    assert any('Loads checkpoint by local backend from path' in m for m in messages), messages
    assert not any('by ied backend' in m for m in messages)
