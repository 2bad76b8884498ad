# Sim-Deeplab-50 on Pascal Context 59, with DifNet's recipe (not in the paper's Table 2).
_base_ = [
    '../_base_/models/deeplabv2_r50-d8.py', '../_base_/datasets/context59_321x321.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/difnet_200ep.py'
]
max_iters = 62475  # 200 epochs × 4,998 images / 16 (paper Sec. 5.1)
# validation on whole images padded to 505×505, no resizing (the authors' code)
model = dict(
    data_preprocessor=dict(size=(321, 321), test_cfg=dict(size=(505, 505))),
    decode_head=dict(num_classes=59))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=6000)
default_hooks = dict(checkpoint=dict(interval=6000))
