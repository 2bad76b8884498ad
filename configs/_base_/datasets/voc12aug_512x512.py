# mmseg's VOC-aug dataset config (512×512 crops, its own pipeline), for the configs that sit
# next to mmseg's model-zoo rows; with the per-walk evaluator (mmseg's IoUMetric plus the
# per-walk rows when model.test_cfg.per_walk=True).
_base_ = 'mmseg::_base_/datasets/pascal_voc12_aug.py'
val_evaluator = dict(type='PerWalkIoUMetric')
test_evaluator = val_evaluator
