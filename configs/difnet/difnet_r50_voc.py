# DifNet-50 on VOC 2012 aug, the paper's recipe (Table 1: 72.57 mIoU on val).
# 4 GPUs × 4 images: tools/train.sh configs/difnet/difnet_r50_voc.py 4
_base_ = [
    '../_base_/models/difnet_r50-d8.py', '../_base_/datasets/voc12aug_321x321.py',
    '../_base_/default_runtime.py', '../_base_/schedules/difnet_200ep_voc.py'
]
# validation on whole images padded black and centred to 505×505 (sdujump/DifNet main.py:55)
model = dict(data_preprocessor=dict(size=(321, 321), test_cfg=dict(size=(505, 505))))
