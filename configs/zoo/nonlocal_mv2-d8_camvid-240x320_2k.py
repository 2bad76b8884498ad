# mmseg's NonLocal head (nonlocal_r50-d8: an embedded-Gaussian non-local block between two 3×3
# convs, every position attending to every other) on the ImageNet MobileNetV2-D8, at the zoo
# study's CamVid recipe (configs/_base_/zoo_camvid_mv2-d8_2k.py; 128 channels, mmseg 512).
_base_ = ['mmseg::_base_/models/nonlocal_r50-d8.py', '../_base_/zoo_camvid_mv2-d8_2k.py']
model = {{_base_.zoo_model}}
