# mmseg's DeepLabV3+ (deeplabv3plus_r50-d8: depthwise-separable ASPP, dilations 1, 12, 24, 36,
# and a decoder on the stride-4 stage) on the ImageNet MobileNetV2-D8, at the zoo study's
# CamVid recipe (configs/_base_/zoo_camvid_mv2-d8_2k.py; 128 channels, mmseg 512; the
# decoder's 48-channel projection of the 24-channel stage as mmseg's).
_base_ = ['mmseg::_base_/models/deeplabv3plus_r50-d8.py', '../_base_/zoo_camvid_mv2-d8_2k.py']
model = dict(
    type='CheckedEncoderDecoder',
    pretrained=None,
    data_preprocessor={{_base_.zoo_data_preprocessor}},
    backbone={{_base_.zoo_backbone}},
    decode_head=dict(in_channels=320, c1_in_channels=24, channels={{_base_.zoo_channels}},
                     num_classes=11, loss_decode={{_base_.zoo_loss}}),
    auxiliary_head=dict(in_channels=96, num_classes=11, loss_decode={{_base_.zoo_loss}}))
