# Sim-Deeplab-18 on VOC 2012 aug (Table 1: 66.33 mIoU on val).
_base_ = './deeplabv2_r50_voc.py'
model = dict(
    backbone=dict(depth=18, init_cfg=dict(checkpoint='torchvision://resnet18')),
    decode_head=dict(in_channels=512))
