# DifNet-34 on VOC 2012 aug (Table 1: 71.84 mIoU on val).
_base_ = './difnet_r50_voc.py'
resnet = dict(depth=34, init_cfg=dict(checkpoint='torchvision://resnet34'))
model = dict(
    backbone=resnet,
    neck=dict(backbone=resnet),
    decode_head=dict(in_channels=512, sim_channels=(3, 64, 128, 256, 512)))
