# DifNet with MobileNetV2s: the seed branch of deeplabv2_mv2-d8.py, a second ImageNet
# MobileNetV2 as the similarity branch and five walks, on the image and the four stages
# (as difnet_r50-d8.py does with ResNet-50s).
_base_ = './deeplabv2_mv2-d8.py'
model = dict(
    type='DifNetEncoderDecoder',
    neck=dict(type='SimilarityBackbone', backbone={{_base_.mobilenet}}, levels=(0, 1, 2, 3, 4)),
    decode_head=dict(
        type='DifNetHead',
        sim_channels=(3, 24, 32, 96, 320),  # image + four stages, one walk each
        walk_cfg=dict(type='RandomWalk', embed_channels=64, mu_init=0.5, beta_init=0.5)))
