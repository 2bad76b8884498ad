# DifNet-101 on mmseg's VOC-aug 20k recipe (512×512 crops, lr 0.01, 4 GPUs × 4), to compare
# with mmseg's model-zoo rows (deeplabv3_r101-d8_4xb4-20k_voc12aug-512x512.py and friends).
_base_ = [
    '../_base_/models/difnet_r50-d8.py', '../_base_/datasets/voc12aug_512x512.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_20k.py'
]
crop_size = (512, 512)
resnet = dict(depth=101, init_cfg=dict(checkpoint='torchvision://resnet101'))
model = dict(data_preprocessor=dict(size=crop_size), backbone=resnet, neck=dict(backbone=resnet))
