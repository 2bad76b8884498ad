# A zoo model (mmseg's FCN on the ImageNet MobileNetV2-D8, configs/zoo/) with the learned
# refiner on its output (docs/studies/refinement.md, "Post-processing"): test it with the FCN's
# own checkpoint, as any model,
#   python tools/test.py configs/refiner/fcn_mv2-d8_camvid-240x320_2k_refiner.py FCN_CKPT
# The refiner is the one the study used, trained once from CamVid's labels
# (configs/refiner/affinity-refiner_mv2_camvid-240x320.py, seed 0; `make refiner` rebuilds it)
# and published into the repository (207 KB); another one is given with
#   --cfg-options model.post_processor.checkpoint=REFINER_CKPT
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
        checkpoint='benchmarks/weights/affinity-refiner_mv2_camvid-240x320_seed0-746546a0.pth',
        # the val pilot's choice (docs/studies/refinement.md, "Pilot result")
        steps=1, alpha=0.5, temperature=2.0, sigma=None))
