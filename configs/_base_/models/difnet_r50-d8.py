# DifNet-50 (Jiang et al., NeurIPS 2018): two ImageNet-pretrained ResNet-50s at output
# stride 8, a DeepLabV2 seed branch and five random walks (see README, "Architecture").
custom_imports = dict(imports=['mmseg_difnet'], allow_failed_imports=False)
# clear errors instead of silent wrong results: classes vs dataset, a checkpoint of
# another architecture, a NaN/Inf loss
custom_hooks = [dict(type='ConfigCheckHook'), dict(type='StopOnInvalidLossHook')]
norm_cfg = dict(type='SyncBN', requires_grad=True)  # as mmseg's multi-GPU configs
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
# ResNet-D8 of DeepLabV2: stage 3 dilation 2, stage 4 dilation 4, strides (1, 2, 1, 1).
resnet = dict(
    type='ResNet',
    depth=50,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    dilations=(1, 1, 2, 4),
    strides=(1, 2, 1, 1),
    norm_cfg=norm_cfg,
    norm_eval=False,
    style='pytorch',
    init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'))
model = dict(
    type='DifNetEncoderDecoder',  # gives the image to the similarity branch in the neck slot
    data_preprocessor=data_preprocessor,
    backbone=resnet,  # seed branch
    neck=dict(type='SimilarityBackbone', backbone=resnet, levels=(0, 1, 2, 3, 4)),
    decode_head=dict(
        type='DifNetHead',
        in_channels=2048,
        in_index=3,
        dilations=(6, 12, 18, 24),  # ASPP-v2
        sim_channels=(3, 256, 512, 1024, 2048),  # image + four stages, one walk each
        walk_cfg=dict(type='RandomWalk', embed_channels=64, mu_init=0.5, beta_init=0.5),
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
