# DeepLabV2-18 (the paper's Sim-Deeplab baseline) on the synthetic VOC-layout demo data,
# from scratch on CPU (`make demo`), with the same recipe as difnet_r18_synthetic.py.
_base_ = [
    '../_base_/models/deeplabv2_r50-d8.py', '../_base_/datasets/synthetic_voc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/synthetic_demo.py'
]
model = dict(
    data_preprocessor=dict(size=(96, 96)),  # the demo's crop size
    backbone=dict(depth=18, init_cfg=None),  # from scratch: the demo downloads nothing
    decode_head=dict(in_channels=512))
