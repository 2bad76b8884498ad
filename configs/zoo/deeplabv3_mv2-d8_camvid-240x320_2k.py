# mmseg's DeepLabV3 (deeplabv3_r50-d8: ASPP with image pooling, dilations 1, 12, 24, 36) on the
# ImageNet MobileNetV2-D8, at the zoo study's CamVid recipe
# (configs/_base_/zoo_camvid_mv2-d8_2k.py; 128 channels, mmseg 512).
_base_ = ['mmseg::_base_/models/deeplabv3_r50-d8.py', '../_base_/zoo_camvid_mv2-d8_2k.py']
model = dict(
    type='CheckedEncoderDecoder',
    pretrained=None,
    data_preprocessor={{_base_.zoo_data_preprocessor}},
    backbone={{_base_.zoo_backbone}},
    decode_head=dict(in_channels=320, channels={{_base_.zoo_channels}}, num_classes=11,
                     loss_decode={{_base_.zoo_loss}}),
    auxiliary_head=dict(in_channels=96, num_classes=11, loss_decode={{_base_.zoo_loss}}))
