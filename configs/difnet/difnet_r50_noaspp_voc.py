# DifNet-50-noASPP on VOC 2012 aug (Table 1: 72.52 mIoU on val): the seed classifier is one
# plain 1×1 conv instead of ASPP-v2.
_base_ = './difnet_r50_voc.py'
model = dict(decode_head=dict(dilations=(1, ), kernel_size=1))
