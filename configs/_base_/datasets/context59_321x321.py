# Pascal Context (59 classes) with the DifNet paper's augmentation, adapted as mmseg adapts
# its VOC configs to Context: mmseg's pascal_context_59 dataset (VOC2010 images, background
# ignored via reduce_zero_label), the same pipeline as voc12aug_321x321.py (the paper trains
# both datasets alike, Sec. 5.1), whole-image validation.
_base_ = 'mmseg::_base_/datasets/pascal_context_59.py'
crop_size = (321, 321)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotationsChecked', reduce_zero_label=True),
    dict(type='RandomChoice',
         transforms=[[dict(type='Resize', scale_factor=s / 10, keep_ratio=True)]
                     for s in range(5, 15)]),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=crop_size),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotationsChecked', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
