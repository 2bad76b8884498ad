# DifNet-MV2 with a taught similarity branch (beyond the paper; docs/studies/similarity.md):
# difnet_mv2-d8_camvid-240x320.py plus the label-affinity loss on the P_t of all five walks
# (class-balanced neighbourhood-components loss, AffinityLoss; a row of
# docs/reference_differences.md). loss_weight: the pilots' choice, in the study's config
# difnet_mv2-d8-affinity_camvid-240x320_2k.py.
_base_ = './difnet_mv2-d8_camvid-240x320.py'
model = dict(decode_head=dict(
    affinity_loss=dict(type='AffinityLoss', loss_weight=1.0, class_balanced=True)))
