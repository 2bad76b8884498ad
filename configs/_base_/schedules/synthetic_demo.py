# The CPU demo's schedule: the paper's optimiser and poly policy (Sec. 5.1, after DeepLabV2),
# a few hundred iterations, one validation and one checkpoint at the end.
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
max_iters = 400
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# every checkpoint the run loads (load_from, resume, pretrained weights; by path or URL) read
# weights-only and verified, under any Runner (mim test builds mmengine's plain one); in
# default_hooks so that a config's own custom_hooks keep it
default_hooks = dict(
    checked_loading=dict(type='CheckedLoadingHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),  # loss and ETA
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0)
