# mmseg's DeepLabV3+ with MobileNetV2 (configs/mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_*
# of mmseg: the heads of its _base_/models/deeplabv3plus_r50-d8.py on the 320- and 96-channel
# stages) on the ImageNet MobileNetV2 and preprocessing of deeplabv2_mv2-d8.py. The plain model
# that diffusion refines in configs/difnet/difnet-deeplabv3plus_mv2-d8*.
_base_ = './deeplabv2_mv2-d8.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='DepthwiseSeparableASPPHead',
        in_channels=320,
        in_index=3,
        channels=512,
        dilations=(1, 12, 24, 36),
        c1_in_channels=24,
        c1_channels=48,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=96,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)))
