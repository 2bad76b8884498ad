# Sim-Deeplab (DeepLabV2) with an ImageNet MobileNetV2 at output stride 8 on CamVid (11
# classes), the baseline of difnet_mv2-d8_camvid-240x320.py with the same recipe. The
# ImageNet weights: `make weights` (checkpoints/mobilenetv2_imagenet_mmseg.pth).
_base_ = [
    '../_base_/models/deeplabv2_mv2-d8.py', '../_base_/datasets/camvid_240x320.py',
    '../_base_/default_runtime.py', '../_base_/schedules/camvid_cpu_study.py'
]
model = dict(data_preprocessor=dict(size=(192, 192)), decode_head=dict(num_classes=11))
