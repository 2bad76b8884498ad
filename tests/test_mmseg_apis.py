"""DifNet through mmseg's and mmengine's own machinery: the Runner on generated VOC-layout
data, init_model / inference_model, MMSegInferencer, slide inference, test-time
augmentation and an auxiliary head."""
import copy
import os.path as osp

import numpy as np
import torch
from helpers import batch
from mmengine.config import ConfigDict
from mmengine.runner import Runner
from PIL import Image

from mmseg_difnet.checkpoint import checked_loading


def test_runner_trains_and_validates(trained):
    assert osp.isfile(trained['ckpt'])
    assert 0.0 <= trained['metrics']['mIoU'] <= 100.0
    walks = trained['runner'].model.decode_head.walks
    # three SGD steps moved every μ and β away from their initial 0.5 (logit 0)
    assert all(w.mu_logit.item() != 0.0 and w.beta_logit.item() != 0.0 for w in walks)
    log = trained['runner'].message_hub.get_scalar('train/loss')
    assert np.isfinite(log.data[0]).all() and len(log.data[0]) == 3


def test_init_model_and_inference_model(trained):
    from mmseg.apis import inference_model, init_model
    with checked_loading():  # mmseg's init_model with this package's checks (weights-only)
        model = init_model(trained['cfg_path'], trained['ckpt'], device='cpu')
    ref = trained['runner'].model.state_dict()
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, ref[k], msg=k)
    result = inference_model(model, trained['image'])
    assert result.pred_sem_seg.data.shape == (1, 64, 64)
    assert result.seg_logits.data.shape == (21, 64, 64)


def test_mmseg_inferencer(trained):
    from mmseg.apis import MMSegInferencer
    with checked_loading():
        inferencer = MMSegInferencer(model=trained['cfg_path'], weights=trained['ckpt'],
                                     device='cpu')
    img = np.asarray(Image.open(trained['image']))[:, :, ::-1].copy()
    out = inferencer(img, return_datasamples=True)
    assert out.pred_sem_seg.data.shape == (1, 64, 64)


def test_slide_inference_equals_whole_when_one_window_covers_the_image(trained):
    model = trained['runner'].model.eval()
    x = torch.randn(1, 3, 64, 64)
    metas = [dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64))]
    saved = copy.deepcopy(model.test_cfg)
    try:
        with torch.no_grad():
            model.test_cfg = ConfigDict(mode='whole')
            whole = model.inference(x, metas)
            model.test_cfg = ConfigDict(mode='slide', crop_size=(64, 64), stride=(32, 32))
            one_window = model.inference(x, metas)
            model.test_cfg = ConfigDict(mode='slide', crop_size=(40, 40), stride=(24, 24))
            sliding = model.inference(x, metas)
    finally:
        model.test_cfg = saved
    torch.testing.assert_close(one_window, whole)
    assert sliding.shape == whole.shape == (1, 21, 64, 64)
    assert not torch.allclose(sliding, whole)


def test_test_time_augmentation(trained):
    """What `tools/test.py --tta` does: SegTTAModel around the model, mmseg's TTA pipeline."""
    cfg = copy.deepcopy(trained['cfg'])
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_pipeline[1].transforms[0] = [dict(type='Resize', scale_factor=r, keep_ratio=True)
                                         for r in (0.75, 1.0)]
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    cfg.load_from = trained['ckpt']
    cfg.work_dir = osp.join(cfg.work_dir, 'tta')
    metrics = Runner.from_cfg(cfg).test()
    assert 0.0 <= metrics['mIoU'] <= 100.0


def test_auxiliary_head_reads_seed_stages(trained):
    from mmseg.registry import MODELS
    cfg = copy.deepcopy(trained['cfg'].model)
    cfg.auxiliary_head = dict(
        type='FCNHead', in_channels=128, in_index=2, channels=32, num_convs=1,  # stage 3
        concat_input=False, dropout_ratio=0.1, num_classes=21,
        norm_cfg=dict(type='BN', requires_grad=True), align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4))
    model = MODELS.build(cfg)
    losses = model(**batch(model, [(64, 64)] * 2, num_classes=21), mode='loss')
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    assert torch.isfinite(losses['aux.loss_ce']) and losses['aux.loss_ce'] > 0
