# Sim-Deeplab-101 on Pascal Context 59 (Table 2: 43.6 mIoU, "Deeplab (Sim-Deeplab)").
_base_ = './deeplabv2_r50_context.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(checkpoint='torchvision://resnet101')))
