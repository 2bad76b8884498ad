# Sim-Deeplab-34 on VOC 2012 aug (Table 1: 69.76 mIoU on val).
_base_ = './deeplabv2_r50_voc.py'
model = dict(
    backbone=dict(depth=34, init_cfg=dict(checkpoint='torchvision://resnet34')),
    decode_head=dict(in_channels=512))
