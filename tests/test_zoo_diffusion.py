"""Diffusion on mmseg's own model-zoo configs, as a zoo user meets it: each config
taken from the ``mmseg::`` tree, turned into a diffusion model by the recipe of
docs/diffusion_for_any_model.md with ``sim_channels`` left out, built, trained one step and
tested per walk."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_difnet.evaluation import PerWalkIoUMetric
from mmseg_difnet.utils import sync_bn_to_bn

RECIPE = '''_base_ = ['{base}']
custom_imports = dict(imports=[{imports}'mmseg_difnet'], allow_failed_imports=False)
model = dict(
    type='DifNetEncoderDecoder',
    neck=dict(type='SharedSimilarity', levels=(0, 1, 2, 3, 4)),
    decode_head=dict(_delete_=True, type='DiffusionHead',
                     seed_head={{{{_base_.model.decode_head}}}}))
'''
# the table "Supported segmentors and heads" of docs/diffusion_for_any_model.md: one row each
ZOO = {
    'FCN': 'fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    'PSPNet': 'pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    'DeepLabV3': 'deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    'DeepLabV3+': 'deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    'SegFormer': 'segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py',
    'UPerNet': 'upernet/upernet_r50_4xb2-40k_cityscapes-512x1024.py',
    'UPerNet-Swin': 'swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py',
    'UPerNet-ConvNeXt': 'convnext/convnext-tiny_upernet_8xb2-amp-160k_ade20k-512x512.py',
}


def zoo_cfg(name, tmp_path, size=96):
    """The diffusion version of mmseg's config ``name``, for one CPU process: BN for SyncBN,
    no pretrained download, ``size``² inputs."""
    import mmseg
    base = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', ZOO[name])
    plain = Config.fromfile(base)
    base_imports = (plain.get('custom_imports') or {}).get('imports', [])
    if isinstance(base_imports, str):
        base_imports = [base_imports]
    imports = ''.join(f"'{i}', " for i in base_imports)
    path = tmp_path / f'{name}.py'
    path.write_text(RECIPE.format(base=base, imports=imports))
    cfg = Config.fromfile(str(path))
    sync_bn_to_bn(cfg)
    cfg.model.pretrained = None
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (size, size)
    cfg.model.test_cfg = dict(mode='whole', per_walk=True)
    return cfg


@pytest.mark.slow
@pytest.mark.parametrize('name', list(ZOO))
def test_the_recipe_on_mmseg_zoo_configs(name, tmp_path):
    """Built with sim_channels derived from the neck, trained one step (auxiliary heads
    included), tested per walk with PerWalkIoUMetric; SegFormer at 96×96 used to be refused
    by a stride computed from the backbone ("output stride 128")."""
    init_default_scope('mmseg')
    cfg = zoo_cfg(name, tmp_path)
    if name == 'UPerNet-ConvNeXt':
        assert 'mmpretrain.models' in cfg.custom_imports.imports  # the base's import kept
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    head = model.decode_head
    assert type(head).__name__ == 'DiffusionHead' and head.num_walks == 5
    levels = model.neck(model.backbone(torch.zeros(1, 3, 64, 64)), torch.zeros(1, 3, 64, 64))
    assert head.sim_channels == tuple(f.shape[1] for f in levels[-5:])  # derived
    K = head.num_classes
    x = torch.randn(2, 3, 96, 96)
    samples = []
    for _ in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(96, 96), pad_shape=(96, 96),
                                        ori_shape=(96, 96)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, K, (1, 96, 96)))
        samples.append(s)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    losses = model(x, samples, mode='loss')
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss)
    loss.backward()
    assert head.walks[0].mu_logit.grad is not None and head.walks[0].mu_logit.grad != 0
    opt.step()
    model.eval()
    with torch.no_grad():
        results = model.predict(x, samples)
    metric = PerWalkIoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=[str(i) for i in range(K)])
    metric.process([], [r.to_dict() for r in results])
    scores = metric.compute_metrics(metric.results)
    assert {'mIoU', 'mIoU_x', 'mIoU_s', 'mIoU_y1', 'mIoU_y5'} <= set(scores)
