# difnet-deeplabv3plus_mv2-d8_camvid-240x320.py with the walks reading the image and the seed
# backbone's own stages (SharedSimilarity): no second backbone (beyond the paper;
# docs/diffusion_for_any_model.md says what it gives up).
_base_ = './difnet-deeplabv3plus_mv2-d8_camvid-240x320.py'
model = dict(neck=dict(_delete_=True, type='SharedSimilarity', levels=(0, 1, 2, 3, 4)))
