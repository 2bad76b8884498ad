# difnet-pspnet_r50-d8_4xb4-20k_voc12aug-512x512.py on mmseg's 40k schedule (its
# _base_/schedules/schedule_40k.py), beside mmseg's pspnet_r50-d8_4xb4-40k_voc12aug-512x512.py.
_base_ = './difnet-pspnet_r50-d8_4xb4-20k_voc12aug-512x512.py'
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=40000, by_epoch=False)
]
train_cfg = dict(max_iters=40000, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
