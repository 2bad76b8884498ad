# DeepLabV3+-MV2 (deeplabv3plus_mv2-d8_camvid-240x320.py) refined by DifNet's diffusion: its
# decode head is the seed head, a second ImageNet MobileNetV2 gives the similarity levels
# (image + four stages, as difnet_mv2-d8.py), five walks run on the seed head's stride-4 grid.
# Start from a trained plain model: --cfg-options model.seed_checkpoint=<its checkpoint>
# (docs/diffusion_for_any_model.md).
_base_ = './deeplabv3plus_mv2-d8_camvid-240x320.py'
model = dict(
    type='DifNetEncoderDecoder',  # gives the image to the similarity levels in the neck slot
    neck=dict(type='SimilarityBackbone', backbone={{_base_.mobilenet}}, levels=(0, 1, 2, 3, 4)),
    decode_head=dict(
        _delete_=True,
        type='DiffusionHead',
        seed_head={{_base_.model.decode_head}},
        num_classes=11,
        sim_channels=(3, 24, 32, 96, 320),  # image + four stages, one walk each
        walk_cfg=dict(type='RandomWalk', embed_channels=64, mu_init=0.5, beta_init=0.5),
        norm_cfg={{_base_.norm_cfg}}))  # of H and Ψ
