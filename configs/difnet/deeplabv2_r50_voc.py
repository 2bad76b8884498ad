# Sim-Deeplab-50 (DeepLabV2: atrous ResNet-50 + ASPP-v2) on VOC 2012 aug, with DifNet's
# recipe (Table 1: 70.78 mIoU on val).
_base_ = [
    '../_base_/models/deeplabv2_r50-d8.py', '../_base_/datasets/voc12aug_321x321.py',
    '../_base_/default_runtime.py', '../_base_/schedules/difnet_200ep_voc.py'
]
# validation on whole images padded black and centred to 505×505 (sdujump/DifNet main.py:55)
model = dict(data_preprocessor=dict(size=(321, 321), test_cfg=dict(size=(505, 505))))
