# DifNet-50 on VOC 2012 aug, the paper's recipe (Table 1: 72.57 mIoU on val).
# 4 GPUs × 4 images: tools/train.sh configs/difnet/difnet_r50_voc.py 4
_base_ = [
    '../_base_/models/difnet_r50-d8.py', '../_base_/datasets/voc12aug_321x321.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/difnet_200ep.py'
]
# validation on whole images padded to 505×505, no resizing (the authors' code)
model = dict(data_preprocessor=dict(size=(321, 321), test_cfg=dict(size=(505, 505))))
max_iters = 132275  # 200 epochs × 10,582 images / 16 (paper Sec. 5.1)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=13000)
default_hooks = dict(checkpoint=dict(interval=13000))
