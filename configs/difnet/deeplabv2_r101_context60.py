# Sim-Deeplab-101 on Pascal Context, the paper's 60-class protocol (Table 2: 43.6 mIoU).
_base_ = './deeplabv2_r50_context60.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(checkpoint='torchvision://resnet101')))
