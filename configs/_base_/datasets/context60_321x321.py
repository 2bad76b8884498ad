# Pascal Context on the DifNet paper's protocol: 60 classes (59 + background, DeepLabV2's;
# Table 2's numbers are on it), mmseg's pascal_context dataset, the pipeline of
# voc12aug_321x321.py (the paper trains both datasets alike, Sec. 5.1). The dataset decides
# whether label 0 is a class (reduce_zero_label), so context59_321x321.py only swaps it.
_base_ = 'mmseg::_base_/datasets/pascal_context.py'
crop_size = (321, 321)
train_pipeline = [
    dict(type='LoadImageChecked'),
    dict(type='LoadAnnotationsChecked'),
    dict(type='RandomChoice',
         transforms=[[dict(type='Resize', scale_factor=s / 10, keep_ratio=True)]
                     for s in range(5, 15)]),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    # mmseg's name, which MMSegInferencer looks for; the frames scored are checked once
    # before testing (ConfigCheckHook), the stored pixels decoded as in training
    dict(type='LoadImageFromFile', color_type='color_ignore_orientation'),
    dict(type='LoadAnnotationsChecked'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmseg's IoUMetric, plus the per-walk rows when model.test_cfg.per_walk=True (DifNet)
val_evaluator = dict(type='PerWalkIoUMetric')
test_evaluator = val_evaluator
