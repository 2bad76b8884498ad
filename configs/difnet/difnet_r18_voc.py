# DifNet-18 on VOC 2012 aug (Table 1: 70.17 mIoU on val).
_base_ = './difnet_r50_voc.py'
resnet = dict(depth=18, init_cfg=dict(checkpoint='torchvision://resnet18'))
model = dict(
    backbone=resnet,
    neck=dict(backbone=resnet),
    decode_head=dict(in_channels=512, sim_channels=(3, 64, 128, 256, 512)))
