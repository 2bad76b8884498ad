# mmseg's DeepLabV3 (deeplabv3_r50-d8: ASPP with image pooling, dilations 1, 12, 24, 36) on the
# ImageNet MobileNetV2-D8, at the zoo study's CamVid recipe
# (configs/_base_/zoo_camvid_mv2-d8_2k.py; 128 channels, mmseg 512).
_base_ = ['mmseg::_base_/models/deeplabv3_r50-d8.py', '../_base_/zoo_camvid_mv2-d8_2k.py']
model = {{_base_.zoo_model}}
