# Sim-Deeplab-50 on VOC 2012 aug in the authors' exact protocol (sdujump/DifNet): every row
# of the docs/reference_differences.md that a config can express
# is set to the reference's value here. difnet_r50_voc_reference.py builds on this file.
_base_ = './deeplabv2_r50_voc.py'
norm_cfg = dict(type='BN', requires_grad=True)  # row 11: per-GPU BN (DataParallel, main.py:70)
resnet = dict(
    norm_cfg=norm_cfg,
    style='caffe',  # row 8: stride on the Bottleneck's 1×1 conv1 (model_difnet.py:106)
    basic_block_dilation='conv2',  # row 9 (ResNet-18/34): model_difnet.py:72, 77
    stem_ceil_mode=True)  # row 10: model_difnet.py:169
model = dict(
    # row 7: BGR 0-255 minus the caffe mean, std 1 (dataset.py:131, 192), although the
    # torchvision weights were trained on RGB with ImageNet mean/std
    data_preprocessor=dict(
        mean=[104.00698793, 116.66876762, 122.67891434], std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    backbone=resnet,
    decode_head=dict(norm_cfg=norm_cfg))
# rows 5 and 14: the base's train pipeline with its Pad (bottom right, label 255) replaced:
# crops padded at a random offset (dataset.py:62-65), the label with 0 = background,
# supervised (dataset.py:66)
_pipeline = [dict(type='RandomPad', size=t['size'], pad_val=dict(img=0, seg=0))
             if t['type'] == 'Pad' else t for t in _base_.train_pipeline]
train_dataloader = dict(
    dataset=dict(datasets=[dict(pipeline=_pipeline), dict(pipeline=_pipeline)]))
# row 13: validate every epoch (ceil(10,582 / 16) = 662 iterations, main.py:57, 167) and keep
# the best (main.py:170)
train_cfg = dict(val_interval=662)
default_hooks = dict(checkpoint=dict(interval=662, save_best='mIoU', rule='greater',
                                     max_keep_ckpts=1))
