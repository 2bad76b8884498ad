# DifNet-101 on VOC 2012 aug (Table 1: 73.22 mIoU on val).
_base_ = './difnet_r50_voc.py'
resnet = dict(depth=101, init_cfg=dict(checkpoint='torchvision://resnet101'))
model = dict(backbone=resnet, neck=dict(backbone=resnet))
