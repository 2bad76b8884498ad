# DifNet-18 on the synthetic VOC-layout demo data, from scratch on CPU (`make demo`).
# A check that the whole workflow runs, not a benchmark.
_base_ = [
    '../_base_/models/difnet_r50-d8.py', '../_base_/datasets/synthetic_voc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/synthetic_demo.py'
]
# From scratch, the reference's classifier init (README row 3: N(0, √(2/(9K))) ≈ 0.1) gives
# logits of std ~30× the features' scale; measured at 300 iterations, DeepLabV2-R18 reached
# 38.51 mIoU with it and 68.51 with mmseg's N(0, 0.01), so the demo uses the latter for both
# (see deeplabv2_r18_synthetic.py).
_mmseg_init = dict(type='Normal', std=0.01, override=dict(name='conv_seg'))
resnet18 = dict(depth=18, init_cfg=None)  # from scratch: the demo downloads nothing
model = dict(
    data_preprocessor=dict(size=(96, 96)),  # the demo's crop size
    backbone=resnet18,
    neck=dict(backbone=resnet18),
    decode_head=dict(in_channels=512, sim_channels=(3, 64, 128, 256, 512),
                     init_cfg=_mmseg_init))
