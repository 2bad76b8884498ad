# DeepLabV2-18 (the paper's Sim-Deeplab baseline) on the synthetic VOC-layout demo data,
# from scratch on CPU (`make demo`), with the same recipe as difnet_r18_synthetic.py: a
# half-width ResNet-18 (base 32 channels), whole 128×128 images.
_base_ = [
    '../_base_/models/deeplabv2_r50-d8.py', '../_base_/datasets/synthetic_voc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/synthetic_demo.py'
]
# From scratch, the reference's classifier init (docs/reference_differences.md row 3:
# N(0, √(2/(9K))) ≈ 0.1) gives logits of std ~30× the features' scale; measured at 300
# iterations on the earlier demo data, DeepLabV2-R18 reached 38.51 mIoU with it and 68.51
# with mmseg's N(0, 0.01), so the demo uses the latter for both models.
model = dict(
    data_preprocessor=dict(size=(128, 128)),
    backbone=dict(depth=18, stem_channels=32, base_channels=32,
                  init_cfg=None),  # from scratch: the demo downloads nothing
    decode_head=dict(in_channels=256, init_cfg=dict(type='Normal', std=0.01,
                                                    override=dict(name='conv_seg'))))
