# The schedule of the GPU study (docs/studies/camvid_gpu.md): the CamVid study's
# optimiser and poly policy (SGD, momentum 0.9, weight decay 5e-4, poly 0.9) at mmseg's
# lr 0.01 for its batch of 16 (mmseg's 4×4 schedules); max_iters is sized on the device from
# a timed first stretch of iterations (tools/studies/camvid_gpu_study.py sets
# train_cfg.max_iters and param_scheduler.0.end). No validation, one checkpoint at the end.
_base_ = './camvid_cpu_study.py'
max_iters = 5000
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=10**9, max_keep_ckpts=1, save_last=True),
                     logger=dict(interval=50))
val_cfg = None  # the dataset base has no validation split (camvid_480x360_gpu.py)
