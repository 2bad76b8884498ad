# DifNet's similarity branch for mmseg's R-50-D8 models: a second ResNetV1c-50 from the same
# ImageNet weights as mmseg's seed backbone (open-mmlab://resnet50_v1c), every stage out; the
# walks read the image and its four stages (Fig. 1a). A variable, not a model, so that it
# layers beside any mmseg model base: neck={{_base_.similarity_r50_v1c}}.
similarity_r50_v1c = dict(
    type='SimilarityBackbone',
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    levels=(0, 1, 2, 3, 4))
