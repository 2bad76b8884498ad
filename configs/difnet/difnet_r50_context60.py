# DifNet-50 on Pascal Context, the paper's 60-class protocol (Table 2: 45.1 mIoU).
_base_ = [
    '../_base_/models/difnet_r50-d8.py', '../_base_/datasets/context60_321x321.py',
    '../_base_/default_runtime.py', '../_base_/schedules/difnet_200ep_context.py'
]
model = dict(
    data_preprocessor=dict(size=(321, 321), test_cfg=dict(size=(505, 505))),
    decode_head=dict(num_classes=60))
