# The refinement study's diffusion arm: the plain model with diffusion, walks on its own stages
# (docs/diffusion_for_any_model.md; tools/studies/refine_study.sh): the base config for 400
# iterations from the trained plain model, --cfg-options model.seed_checkpoint=<checkpoint>.
# The continuation's length and recipe (a fresh SGD and poly schedule from lr 0.01, the
# CamVid study's) were fixed before any run.
_base_ = './difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320.py'
max_iters = 400
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
# the first study ran before the refinement mode existed: its output is the paper's y_T
model = dict(decode_head=dict(gate_init=None))
