# Sim-Deeplab-101 on VOC 2012 aug (Table 1: 71.83 mIoU on val).
_base_ = './deeplabv2_r50_voc.py'
model = dict(backbone=dict(depth=101, init_cfg=dict(checkpoint='torchvision://resnet101')))
