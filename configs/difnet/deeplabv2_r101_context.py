# Sim-Deeplab-101 on Pascal Context 59 (mmseg's protocol; the paper's Table 2 number, 43.6,
# is on 60 classes: deeplabv2_r101_context60.py).
_base_ = './deeplabv2_r50_context.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(checkpoint='torchvision://resnet101')))
