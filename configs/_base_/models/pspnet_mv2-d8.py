# mmseg's PSPNet with MobileNetV2 (configs/mobilenet_v2/mobilenet-v2-d8_pspnet_* of mmseg: the
# heads of its _base_/models/pspnet_r50-d8.py on the 320- and 96-channel stages) on the
# ImageNet MobileNetV2 and preprocessing of deeplabv2_mv2-d8.py. The plain model that
# diffusion refines in configs/difnet/difnet-pspnet_mv2-d8*.
_base_ = './deeplabv3plus_mv2-d8.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='PSPHead',
        in_channels=320,
        in_index=3,
        channels=512,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
