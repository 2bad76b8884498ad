# mmseg's PSPNet with an ImageNet MobileNetV2 at output stride 8 on CamVid (11 classes), with
# the recipe of the CamVid study (configs/_base_/schedules/camvid_cpu_study.py) and mmseg's
# 512-channel head.
_base_ = [
    '../_base_/models/pspnet_mv2-d8.py', '../_base_/datasets/camvid_240x320.py',
    '../_base_/default_runtime.py', '../_base_/schedules/camvid_cpu_study.py'
]
model = dict(
    data_preprocessor=dict(size=(192, 192)),
    decode_head=dict(num_classes=11),
    auxiliary_head=dict(num_classes=11))
