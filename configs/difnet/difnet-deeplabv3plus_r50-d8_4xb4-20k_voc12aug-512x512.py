# mmseg's DeepLabV3+ R-50-D8 on VOC-aug (its deeplabv3plus_r50-d8_4xb4-20k_voc12aug-512x512.py:
# 512×512 crops, 20k iterations, 4 GPUs × 4) refined by DifNet's diffusion, to sit beside that
# zoo row: its decode head is the seed head, a second ResNetV1c-50 the similarity branch, five
# walks. From mmseg's trained checkpoint: --cfg-options model.seed_checkpoint=<zoo .pth>
# (docs/diffusion_for_any_model.md).
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py', '../_base_/models/similarity_r50-v1c.py',
    '../_base_/datasets/voc12aug_512x512.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_20k.py'
]
crop_size = (512, 512)
model = dict(
    type='DifNetEncoderDecoder',  # gives the image to the similarity branch in the neck slot
    data_preprocessor=dict(size=crop_size),
    neck={{_base_.similarity_r50_v1c}},
    decode_head=dict(
        _delete_=True,
        type='DiffusionHead',
        seed_head={{_base_.model.decode_head}},
        num_classes=21,
        sim_channels=(3, 256, 512, 1024, 2048),  # image + four stages, one walk each
        walk_cfg=dict(type='RandomWalk', embed_channels=64, mu_init=0.5, beta_init=0.5),
        norm_cfg=dict(type='SyncBN', requires_grad=True)),  # of H and Ψ
    auxiliary_head=dict(num_classes=21))
