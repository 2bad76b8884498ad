# The post-processing refiner of CamVid (docs/studies/refinement.md, "Post-processing"), trained
# once from the labels alone, with no segmentation model: Ψ at stride 4 of the image from the
# ImageNet MobileNetV2's first two stages (16 and 24 channels, strides 2 and 4) and the image,
# taught by the class-balanced label-affinity loss (AffinityLoss) on the grid's labels. The
# recipe's training frames, augmentation and crops (configs/_base_/datasets/camvid_240x320.py:
# 320×240 frames, 192² crops, batch 4), SGD with the poly policy over 1,000 iterations; no
# validation (the refiner predicts no classes: its parameters are fitted on val through
# PostProcessedSegmentor, docs/studies/refinement.md).
_base_ = [
    '../_base_/datasets/camvid_240x320.py', '../_base_/default_runtime.py',
    '../_base_/schedules/camvid_cpu_study.py'
]
model = dict(
    type='AffinityRefiner',
    data_preprocessor=dict(
        type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(192, 192)),
    backbone=dict(
        type='MobileNetV2', widen_factor=1., out_indices=(0, 1),
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mobilenetv2_imagenet_mmseg.pth')),
    in_channels=(16, 24), channels=64, embed_channels=32,
    # chunk: the 48² nodes of a crop in one block (the same loss, no recomputation)
    affinity_loss=dict(type='AffinityLoss', class_balanced=True, chunk=4096),
    num_classes=11)
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
train_cfg = dict(val_interval=10 ** 9)
