# The paper's DifNet-MV2 on CamVid at the similarity study's 2,000-iteration schedule
# (docs/studies/similarity.md); difnet_mv2-d8_camvid-240x320.py otherwise.
_base_ = [
    '../_base_/models/difnet_mv2-d8.py', '../_base_/datasets/camvid_240x320.py',
    '../_base_/default_runtime.py', '../_base_/schedules/camvid_cpu_study_2k.py'
]
model = dict(data_preprocessor=dict(size=(192, 192)), decode_head=dict(num_classes=11))
