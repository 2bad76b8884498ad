# DifNet-101 on Pascal Context, the paper's 60-class protocol (Table 2: 46.0 mIoU).
_base_ = './difnet_r50_context60.py'
resnet = dict(depth=101, init_cfg=dict(checkpoint='torchvision://resnet101'))
model = dict(backbone=resnet, neck=dict(backbone=resnet))
