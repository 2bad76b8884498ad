# The VOC schedule (difnet_200ep_voc.py) on Pascal Context: 200 epochs of 4,998 images at
# batch 16, the last partial batch kept as the reference's loader (main.py:57, 73):
# ceil(4998 / 16) = 313 iterations an epoch, 62,600 in all.
_base_ = './difnet_200ep_voc.py'
max_iters = 62600
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=6000)
default_hooks = dict(checkpoint=dict(interval=6000))
