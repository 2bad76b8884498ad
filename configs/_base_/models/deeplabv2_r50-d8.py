# "Sim-Deeplab" of the DifNet paper: DeepLabV2 reduced to atrous ResNet + ASPP-v2
# (no multi-scale input, no CRF, no COCO). Each default that departs from the authors' code
# is a row of the docs/reference_differences.md, and its
# switch is named here; configs/difnet/*_reference_*.py set them all.
norm_cfg = dict(type='SyncBN', requires_grad=True)  # row 11; reference: dict(type='BN')
data_preprocessor = dict(
    type='DifNetDataPreProcessor',  # test padding: black, centred, as training (row 4)
    mean=[123.675, 116.28, 103.53],  # row 7: RGB, ImageNet statistics, the weights' own
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
# ResNet-D8 of DeepLabV2: stage 3 dilation 2, stage 4 dilation 4, strides (1, 2, 1, 1).
resnet = dict(
    type='DifNetResNet',  # mmseg's ResNet + rows 9-10: basic_block_dilation, stem_ceil_mode
    depth=50,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 2, 4),
    strides=(1, 2, 1, 1),
    norm_cfg=norm_cfg,
    norm_eval=False,
    style='pytorch',  # row 8; reference: 'caffe' (stride on the Bottleneck's 1×1 conv)
    init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'))
model = dict(
    type='CheckedEncoderDecoder',  # mmseg's, checking labels and inputs at every stage
    data_preprocessor=data_preprocessor,
    backbone=resnet,
    decode_head=dict(
        type='DeepLabV2Head',
        in_channels=2048,
        in_index=3,
        dilations=(6, 12, 18, 24),
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=False,
        # row 6: the mean over labelled pixels, as the reference's nn.CrossEntropyLoss
        # (sdujump/DifNet basic_function.py:62)
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
                         avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
