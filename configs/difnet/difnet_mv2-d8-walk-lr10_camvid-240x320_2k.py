# Beyond the paper (docs/studies/similarity.md, "Other switches"): the paper's
# DifNet-MV2 at the similarity study's schedule with ten times the learning rate for the
# walks' parameters: μ_t, β_t (single numbers whose gradients are 1e-2 or smaller,
# --diagnose in docs/studies/refinement.md, round two) and Ψ's
# conv and norm, whose gradient halves per walk it passes (--diagnose). mmengine's
# paramwise_cfg: the longest matching key wins, and these three match disjoint names.
_base_ = './difnet_mv2-d8_camvid-240x320_2k.py'
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    'mu_logit': dict(lr_mult=10.0), 'beta_logit': dict(lr_mult=10.0),
    '.psi.': dict(lr_mult=10.0)}))
