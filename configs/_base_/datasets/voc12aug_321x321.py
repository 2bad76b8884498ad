# VOC 2012 + SBD aug with the DifNet paper's augmentation (Sec. 5.1; sdujump/DifNet main.py:54,
# dataset.py:38 and 54-66):
# random scale in {0.5, 0.6, ..., 1.4}, random crop / pad to 321×321, horizontal flip;
# validation on whole images without resizing, padded black and centred to 505×505 by the
# model's DifNetDataPreProcessor. Crops are padded at the bottom right (the reference pads at
# a random offset, docs/reference_differences.md row 14: RandomPad) with label 255, ignored
# (row 5; the reference pads the label with 0 = background, supervised:
# pad_val=dict(img=0, seg=0)).
_base_ = 'mmseg::_base_/datasets/pascal_voc12_aug.py'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (321, 321)
train_pipeline = [
    dict(type='LoadImageChecked'),
    dict(type='LoadAnnotationsChecked'),
    dict(type='RandomChoice',
         transforms=[[dict(type='Resize', scale_factor=s / 10, keep_ratio=True)]
                     for s in range(5, 15)]),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=crop_size, pad_val=dict(img=0, seg=255)),  # black image (row 4)
    dict(type='PackSegInputs'),  # no PhotoMetricDistortion: the paper has none
]
test_pipeline = [
    # mmseg's name, which MMSegInferencer looks for; the frames scored are checked once
    # before testing (ConfigCheckHook), the stored pixels decoded as in training
    dict(type='LoadImageFromFile', color_type='color_ignore_orientation'),
    dict(type='LoadAnnotationsChecked'),
    dict(type='PackSegInputs'),
]
_voc = dict(type='PascalVOCDataset', data_root=data_root, pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=4,  # × 4 GPUs = 16, the paper's batch
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(_voc, data_prefix=dict(img_path='JPEGImages',
                                        seg_map_path='SegmentationClass'),
                 ann_file='ImageSets/Segmentation/train.txt'),
            dict(_voc, data_prefix=dict(img_path='JPEGImages',
                                        seg_map_path='SegmentationClassAug'),
                 ann_file='ImageSets/Segmentation/aug.txt'),
        ]))
val_dataloader = dict(dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmseg's IoUMetric, plus the per-walk rows when model.test_cfg.per_walk=True (DifNet)
val_evaluator = dict(type='PerWalkIoUMetric')
test_evaluator = val_evaluator
