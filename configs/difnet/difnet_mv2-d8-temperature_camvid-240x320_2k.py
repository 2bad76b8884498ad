# Beyond the paper (docs/studies/similarity.md, "Other switches"): the paper's
# DifNet-MV2 at the similarity study's schedule with a learned temperature τ on every walk,
# P = softmax(τ Ψ Ψᵀ), τ starting at 1 (the paper's P). Not part of the study's design.
_base_ = './difnet_mv2-d8_camvid-240x320_2k.py'
model = dict(decode_head=dict(walk_cfg=dict(type='RandomWalk', learn_temperature=True)))
