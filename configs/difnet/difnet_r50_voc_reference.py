# DifNet-50 on VOC 2012 aug in the authors' exact protocol (sdujump/DifNet): the reference
# protocol of deeplabv2_r50_voc_reference.py with DifNet's similarity branch and walks.
_base_ = ['./deeplabv2_r50_voc_reference.py']
model = dict(
    type='DifNetEncoderDecoder',
    neck=dict(type='SimilarityBackbone', backbone={{_base_.model.backbone}},
              levels=(0, 1, 2, 3, 4)),
    decode_head=dict(
        type='DifNetHead',
        sim_channels=(3, 256, 512, 1024, 2048),
        walk_cfg=dict(type='RandomWalk', embed_channels=64, mu_init=0.5, beta_init=0.5)))
