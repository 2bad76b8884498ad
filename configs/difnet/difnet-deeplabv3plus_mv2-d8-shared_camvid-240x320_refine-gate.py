# The refinement study's diffusion arm in the refinement mode (docs/studies/refinement.md, "Round
# two"): the first study's diffusion arm
# (difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320_refine.py) whose output is
# x + α (y_T − s) with α from 0 (decode_head.gate_init), so that it starts as the plain model
# it continues. --cfg-options model.seed_checkpoint=<the plain model's checkpoint>.
_base_ = './difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320_refine.py'
model = dict(decode_head=dict(gate_init=0.0))
# α, μ_t and β_t are single numbers whose gradients are 1e-2 or smaller (measured with
# --diagnose on a pilot run, seed 9, before the study): at lr 0.01 they would move by about
# 1e-4 per iteration, so in 400 iterations the walks could not enter. Ten times the learning
# rate, and no weight decay, for these scalars only (mmengine's paramwise_cfg).
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'decode_head.gate': dict(lr_mult=10.0, decay_mult=0.0),
    'mu_logit': dict(lr_mult=10.0, decay_mult=0.0),
    'beta_logit': dict(lr_mult=10.0, decay_mult=0.0)}))
