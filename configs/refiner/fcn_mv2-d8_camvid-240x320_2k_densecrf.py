# A zoo model (mmseg's FCN on the ImageNet MobileNetV2-D8, configs/zoo/) with DenseCRF on its
# output, the anchor of the refiner (docs/studies/refinement.md, "Post-processing"; needs
# pydensecrf2, the extra `densecrf`): test it with the FCN's own checkpoint, as any model,
#   python tools/test.py configs/refiner/fcn_mv2-d8_camvid-240x320_2k_densecrf.py FCN_CKPT
# Any other model: its config as the base, its `model` as `base`.
_base_ = ['../zoo/fcn_mv2-d8_camvid-240x320_2k.py']
base_model = {{_base_.model}}
model = dict(
    _delete_=True,
    type='PostProcessedSegmentor',
    base=base_model,
    # the bilateral kernel: the val pilot's choice (docs/studies/refinement.md, "Pilot result")
    post_processor=dict(type='DenseCRF', iterations=5, gauss_sxy=3, gauss_compat=3,
                        bilateral_sxy=30, bilateral_srgb=5, bilateral_compat=3))
