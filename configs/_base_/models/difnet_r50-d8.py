# DifNet-50 (Jiang et al., NeurIPS 2018): the Sim-Deeplab-50 seed branch, a second
# ImageNet-pretrained ResNet-50 as the similarity branch and five random walks
# (docs/architecture.md).
_base_ = './deeplabv2_r50-d8.py'
model = dict(
    type='DifNetEncoderDecoder',  # gives the image to the similarity branch in the neck slot
    neck=dict(type='SimilarityBackbone', backbone={{_base_.resnet}}, levels=(0, 1, 2, 3, 4)),
    decode_head=dict(
        type='DifNetHead',
        sim_channels=(3, 256, 512, 1024, 2048),  # image + four stages, one walk each
        walk_cfg=dict(type='RandomWalk', embed_channels=64, mu_init=0.5, beta_init=0.5)))
