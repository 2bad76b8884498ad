# The synthetic VOC-layout dataset of
# `tools/dataset_converters/generate_synthetic_voc.py` (128×128 images:
# irregular regions whose class is told only by a small cue; see
# mmseg_difnet/datasets/synthetic_voc.py): mmseg's VOC-aug dataset config with its own data
# root. Whole images in training too (flip only), so the DifNet grid is 32×32 with
# grid_scale=2; sized for a CPU demo.
_base_ = 'mmseg::_base_/datasets/pascal_voc12_aug.py'
data_root = 'data/synthetic_voc/VOCdevkit/VOC2012'
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadImageChecked'),
    dict(type='LoadAnnotationsChecked'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [  # whole images, no resizing (as the paper's validation)
    # mmseg's name, which MMSegInferencer looks for; the frames scored are checked once
    # before testing (ConfigCheckHook), the stored pixels decoded as in training
    dict(type='LoadImageFromFile', color_type='color_ignore_orientation'),
    dict(type='LoadAnnotationsChecked'),
    dict(type='PackSegInputs'),
]
_voc = dict(type='PascalVOCDataset', data_root=data_root, pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
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
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmseg's IoUMetric, plus the per-walk rows when model.test_cfg.per_walk=True (DifNet)
val_evaluator = dict(type='PerWalkIoUMetric')
test_evaluator = val_evaluator
