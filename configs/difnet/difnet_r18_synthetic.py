# DifNet-18 on the synthetic VOC-layout demo data, from scratch on CPU (`make demo`).
# A check that the whole workflow runs, not a benchmark.
_base_ = [
    '../_base_/models/difnet_r50-d8.py', '../_base_/datasets/synthetic_voc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/synthetic_demo.py'
]
resnet18 = dict(depth=18, init_cfg=None)  # from scratch: the demo downloads nothing
model = dict(
    data_preprocessor=dict(size=(96, 96)),  # the demo's crop size
    backbone=resnet18,
    neck=dict(backbone=resnet18),
    decode_head=dict(in_channels=512, sim_channels=(3, 64, 128, 256, 512)))
