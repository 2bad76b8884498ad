# A zoo model (mmseg's FCN on the ImageNet MobileNetV2-D8, configs/zoo/) with the learned
# refiner on its output (docs/studies/refinement.md, "Post-processing"): test it with the FCN's
# own checkpoint, as any model,
#   python tools/test.py configs/refiner/fcn_mv2-d8_camvid-240x320_2k_refiner.py FCN_CKPT \
#       --cfg-options model.post_processor.checkpoint=REFINER_CKPT
# after training the refiner once (configs/refiner/affinity-refiner_mv2_camvid-240x320.py).
# The wrapper is the DenseCRF config's, with the refiner as its post-processor.
_base_ = ['./fcn_mv2-d8_camvid-240x320_2k_densecrf.py']
model = dict(
    post_processor=dict(
        _delete_=True,
        type='Refiner',
        refiner=dict(
            type='AffinityRefiner',
            data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                                   std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
            backbone=dict(type='MobileNetV2', widen_factor=1., out_indices=(0, 1)),
            in_channels=(16, 24), channels=64, embed_channels=32, num_classes=11),
        checkpoint='work_dirs/affinity-refiner_mv2_camvid-240x320/iter_1000.pth',
        # the val pilot's choice (docs/studies/refinement.md, "Pilot result")
        steps=1, alpha=0.5, temperature=2.0, sigma=None))
