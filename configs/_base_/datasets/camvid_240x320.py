# CamVid in SegNet's split (CamVidDataset: 11 classes, void ignored; docs/data.md): train on
# train (367 frames), develop on val (101), report on test (233). Frames are 480×360; here
# they are resized to 320×240 (2/3), a scale chosen for a 2-core CPU study
# (docs/studies/camvid.md): the diffusion grid at output stride 8 is then 40×30. Training: the
# DifNet paper's augmentation (Sec. 5.1: random scale 0.5-1.4, random crop, flip, black
# padding), crops of 192×192. Validation and test on whole frames at 320×240; mmseg resizes the
# prediction back to 480×360, so every metric is on the original label grid.
dataset_type = 'CamVidDataset'
data_root = 'data/camvid'
scale = (320, 240)  # (w, h)
crop_size = (192, 192)
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
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotationsChecked'),  # the label at 480×360: metrics on the original grid
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='train', seg_map_path='trainannot'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='val', seg_map_path='valannot'),
                 pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'],
                 data_prefix=dict(img_path='test', seg_map_path='testannot')))
# mmseg's IoUMetric plus the per-class IoU in the metrics, the mIoU within 2, 5 and 10 pixels
# of a label boundary (trimap) and, with model.test_cfg.per_walk=True, every DifNet stage
val_evaluator = dict(type='PerWalkIoUMetric', classwise=True, trimap_radii=(2, 5, 10))
test_evaluator = val_evaluator
