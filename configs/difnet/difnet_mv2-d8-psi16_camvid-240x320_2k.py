# Beyond the paper (docs/studies/similarity.md, "Other switches"): the paper's
# DifNet-MV2 at the similarity study's schedule with a narrower Ψ (d = 16 instead of the
# paper's 64): P·y's fused kernels pad to max(d, K) = 24 columns instead of 64
# (docs/fast_diffusion.md, "P·y of one walk by the width d of Ψ").
_base_ = './difnet_mv2-d8_camvid-240x320_2k.py'
model = dict(decode_head=dict(walk_cfg=dict(type='RandomWalk', embed_channels=16)))
