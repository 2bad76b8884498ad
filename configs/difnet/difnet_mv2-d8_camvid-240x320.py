# DifNet with ImageNet MobileNetV2s (seed and similarity branches, output stride 8, five walks
# on the image and four stages) on CamVid (11 classes); recipe of
# deeplabv2_mv2-d8_camvid-240x320.py, its baseline. The diffusion grid is 40×30 at test.
_base_ = [
    '../_base_/models/difnet_mv2-d8.py', '../_base_/datasets/camvid_240x320.py',
    '../_base_/default_runtime.py', '../_base_/schedules/camvid_cpu_study.py'
]
model = dict(data_preprocessor=dict(size=(192, 192)), decode_head=dict(num_classes=11))
