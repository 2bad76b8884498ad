# The refinement study's round three (docs/studies/refinement.md, "Round three"):
# round two's refinement-mode arm (difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320_refine-gate.py)
# plus the similarity study's label-affinity loss with that study's setting (all five P_t,
# loss_weight 1.0, class-balanced; configs/difnet/difnet_mv2-d8-affinity_camvid-240x320_2k.py).
# Why: in round two the walks' Ψ got gradients only through α ≈ -0.2 and barely moved; the loss
# gives Ψ a signal of its own. --cfg-options model.seed_checkpoint=<the plain model's checkpoint>.
_base_ = './difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320_refine-gate.py'
model = dict(decode_head=dict(
    affinity_loss=dict(type='AffinityLoss', loss_weight=1.0, class_balanced=True)))
