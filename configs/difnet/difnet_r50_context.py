# DifNet-50 on Pascal Context 59 (mmseg's protocol, for the mmseg model zoo; not in the
# paper, whose Table 2 is on 60 classes: difnet_r50_context60.py).
_base_ = [
    '../_base_/models/difnet_r50-d8.py', '../_base_/datasets/context59_321x321.py',
    '../_base_/default_runtime.py', '../_base_/schedules/difnet_200ep_context.py'
]
model = dict(
    data_preprocessor=dict(size=(321, 321), test_cfg=dict(size=(505, 505))),
    decode_head=dict(num_classes=59))
