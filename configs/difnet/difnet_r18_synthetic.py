# DifNet-18 on the synthetic VOC-layout demo data, from scratch on CPU (`make demo`): the
# seed branch of deeplabv2_r18_synthetic.py (half-width ResNet-18, mmseg's classifier init:
# see there) plus a half-width ResNet-18 similarity branch and five walks on a 32×32 grid
# (grid_scale=2: output stride 4 for the walks, 8 for the score map x).
_base_ = ['./deeplabv2_r18_synthetic.py']
model = dict(
    type='DifNetEncoderDecoder',
    neck=dict(type='SimilarityBackbone', backbone={{_base_.model.backbone}},
              levels=(0, 1, 2, 3, 4)),
    decode_head=dict(
        type='DifNetHead',
        sim_channels=(3, 32, 64, 128, 256),
        grid_scale=2,
        walk_cfg=dict(type='RandomWalk', embed_channels=64, mu_init=0.5, beta_init=0.5)))
