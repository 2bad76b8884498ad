# The DifNet paper's schedule (Sec. 5.1; sdujump/DifNet main.py:73-75, main.sh:9-13): SGD,
# momentum 0.9, weight decay 5e-4, lr 2.5e-4 × 10 for all parameters with poly 0.9 decay,
# batch 16, 200 epochs of VOC aug's 10,582 images; the reference's loader keeps the last
# partial batch (drop_last=False, main.py:57 and 73), so an epoch is ceil(10582 / 16) = 662
# iterations and 200 epochs are 132,400.
_base_ = 'mmseg::_base_/schedules/schedule_160k.py'
max_iters = 132400
optim_wrapper = dict(optimizer=dict(type='SGD', lr=2.5e-3, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
# row 13: the last iteration is the model (the reference keeps the best of 200 validations,
# sdujump/DifNet main.py:167-170: default_hooks.checkpoint.save_best='mIoU')
train_cfg = dict(max_iters=max_iters, val_interval=13000)
# every checkpoint the run loads (load_from, resume, pretrained weights; by path or URL) read
# weights-only and verified, under any Runner (mim test builds mmengine's plain one); in
# default_hooks so that a config's own custom_hooks keep it
default_hooks = dict(checkpoint=dict(interval=13000),
                     checked_loading=dict(type='CheckedLoadingHook'))
