# The schedule of the CamVid study on a 2-core CPU (docs/studies/camvid.md; fixed
# before any comparison was run): the demo's (the paper's optimiser and poly policy, Sec. 5.1,
# with mmseg's lr 0.01, batch 4) for 1,000 iterations from ImageNet MobileNetV2s. One
# validation (val) at the end; a checkpoint every 100 iterations, so an interrupted run
# resumes.
_base_ = './synthetic_demo.py'
max_iters = 1000
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=100, max_keep_ckpts=1))
