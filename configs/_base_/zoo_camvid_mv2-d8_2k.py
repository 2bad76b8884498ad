# The recipe of the zoo study (docs/studies/zoo.md): mmseg's heads on the ImageNet MobileNetV2
# at output stride 8, trained and tested exactly as DeepLabV2-MV2 and DifNet-MV2 of the
# similarity study (configs/difnet/*_mv2-d8_camvid-240x320_2k.py): CamVid at 320×240, 192²
# crops, batch 4, SGD lr 0.01 with the poly policy over 2,000 iterations, this package's
# runtime. A leaf config takes mmseg's model base (mmseg::_base_/models/<head>_r50-d8.py) and
# this recipe, and takes ``zoo_model`` as its model (merged into the base's); only the head
# differs.
_base_ = [
    './datasets/camvid_240x320.py', './default_runtime.py', './schedules/camvid_cpu_study_2k.py'
]
# The seed backbone of configs/_base_/models/deeplabv2_mv2-d8.py (mmseg's MobileNetV2-D8 of
# configs/mobilenet_v2: layers 4-7 dilated; stages out at 24, 32, 96, 320 channels).
zoo_backbone = dict(
    _delete_=True,  # replaces the base's ResNetV1c
    type='MobileNetV2',
    widen_factor=1.,
    strides=(1, 2, 2, 1, 1, 1, 1),
    dilations=(1, 1, 1, 2, 2, 4, 4),
    out_indices=(1, 2, 4, 6),
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mobilenetv2_imagenet_mmseg.pth'))
# The DeepLabV2-MV2 preprocessing (pads 192² training crops black, as the pipeline's Pad).
zoo_data_preprocessor = dict(type='DifNetDataPreProcessor', size=(192, 192))
# The recipe's loss, as DeepLabV2-MV2's (configs/_base_/models/deeplabv2_r50-d8.py): the mean
# over labelled pixels; mmseg's default (avg_non_ignore=False) divides by every pixel of the
# crop, padding included, which would give the zoo heads a smaller effective learning rate.
zoo_loss = dict(avg_non_ignore=True)
# One width for every head (mmseg's 512 channels do not fit a 2-core CPU study: PSPNet-MV2 at
# 512 took about 2 s an iteration on one thread): the decode heads at 128 channels, the
# auxiliary FCNHead at mmseg's 256 on the 96-channel stage (about 3% of a step).
zoo_channels = 128
# What every leaf sets in mmseg's model base: DeepLabV2-MV2's segmentor (mmseg's, with input
# checks), backbone, preprocessing and loss, the width above, CamVid's 11 classes.
zoo_model = dict(
    type='CheckedEncoderDecoder',
    pretrained=None,
    data_preprocessor=zoo_data_preprocessor,
    backbone=zoo_backbone,
    decode_head=dict(in_channels=320, channels=zoo_channels, num_classes=11,
                     loss_decode=zoo_loss),
    auxiliary_head=dict(in_channels=96, num_classes=11, loss_decode=zoo_loss))
