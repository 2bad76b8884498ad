# CamVid for the GPU study (docs/studies/camvid_gpu.md): the frames at their full
# 480×360, packed for the device as JPEG (quality 95, tools/misc/pack_camvid.py: every model
# sees the same frames) with the labels unchanged. The augmentation of camvid_240x320.py (the
# paper's, Sec. 5.1: random scale 0.5-1.4, crop, flip, black padding) at the full scale, crops
# of 288×288 (192 × 1.5, the CPU study's crop at this scale); test on whole 480×360 frames.
_base_ = './camvid_240x320.py'
data_root = '.camvid_pack'
scale = (480, 360)  # (w, h)
crop_size = (288, 288)
train_pipeline = [
    dict(type='LoadImageChecked'),
    dict(type='LoadAnnotationsChecked'),
    dict(type='RandomResize', scale=scale, ratio_range=(0.5, 1.4), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),  # black, ignored
    dict(type='PackSegInputs'),
]
test_pipeline = [
    # mmseg's name, which MMSegInferencer looks for; the frames scored are checked once
    # before testing (ConfigCheckHook), the stored pixels decoded as in training
    dict(type='LoadImageFromFile', color_type='color_ignore_orientation'),
    dict(type='LoadAnnotationsChecked'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=2,
    dataset=dict(data_root=data_root, img_suffix='.jpg', pipeline=train_pipeline))
test_dataloader = dict(
    dataset=dict(data_root=data_root, img_suffix='.jpg', pipeline=test_pipeline,
                 data_prefix=dict(img_path='test', seg_map_path='testannot')))
# no validation (val_cfg = None in camvid_gpu_study.py): the pack holds train and test only,
# and nothing is chosen on a validation
val_dataloader = None
val_evaluator = None
