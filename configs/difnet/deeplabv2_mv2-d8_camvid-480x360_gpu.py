# DeepLabV2-MV2 (Sim-Deeplab) on CamVid for the GPU study (docs/studies/camvid_gpu.md): full
# 480×360 frames, batch 16, the schedule sized on the device.
_base_ = [
    '../_base_/models/deeplabv2_mv2-d8.py', '../_base_/datasets/camvid_480x360_gpu.py',
    '../_base_/default_runtime.py', '../_base_/schedules/camvid_gpu_study.py'
]
model = dict(data_preprocessor=dict(size=(288, 288)), decode_head=dict(num_classes=11))
