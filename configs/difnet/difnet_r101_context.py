# DifNet-101 on Pascal Context 59 (mmseg's protocol; the paper's Table 2 number, 46.0, is on
# 60 classes: difnet_r101_context60.py).
_base_ = './difnet_r50_context.py'
resnet = dict(depth=101, init_cfg=dict(checkpoint='torchvision://resnet101'))
model = dict(backbone=resnet, neck=dict(backbone=resnet))
