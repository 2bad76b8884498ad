# mmseg's DeepLabV3+ with an ImageNet MobileNetV2 at output stride 8 on CamVid (11 classes):
# the plain model of the refinement study (docs/diffusion_for_any_model.md), with the
# recipe of the CamVid study (configs/_base_/schedules/camvid_cpu_study.py). The ASPP and
# decoder are 128 channels wide (mmseg's 512) so that it trains on a 2-core CPU: 512 took 2.6 s
# per iteration there, 128 about 0.9 s.
_base_ = [
    '../_base_/models/deeplabv3plus_mv2-d8.py', '../_base_/datasets/camvid_240x320.py',
    '../_base_/default_runtime.py', '../_base_/schedules/camvid_cpu_study.py'
]
model = dict(
    data_preprocessor=dict(size=(192, 192)),
    decode_head=dict(num_classes=11, channels=128),
    auxiliary_head=dict(num_classes=11))
