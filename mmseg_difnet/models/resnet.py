# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""mmseg's ResNet with the two layout switches of the DifNet reference that a config of
mmseg's ResNet cannot express."""
from mmseg.models.backbones import ResNet
from mmseg.models.backbones.resnet import BasicBlock
from mmseg.registry import MODELS

DILATED_CONVS = ('conv1', 'conv2')


@MODELS.register_module()
class DifNetResNet(ResNet):
    """:class:`mmseg.models.backbones.ResNet` plus the reference's BasicBlock and stem layout.

    The weights and their names are mmseg's, so torchvision checkpoints load unchanged.

    Args:
        basic_block_dilation (str): Which 3×3 conv of a dilated BasicBlock (ResNet-18/34)
            is dilated: 'conv1' as mmseg, or 'conv2' as the reference (sdujump/DifNet
            model_difnet.py:72 and 77). Default: 'conv1'.
        stem_ceil_mode (bool): ``ceil_mode`` of the stem's 3×3/2 max-pool: the reference has
            True (model_difnet.py:169), mmseg and torchvision False. It changes the stride-8
            grid when the input size n ≡ 0 or 7 (mod 8) (320 → 41 with True, 40 with False;
            319 → 41 vs 40; 321 and 505 unchanged), and the stride-4 map (which walk 2
            pools from) when n ≡ 0 or 3 (mod 4). Default: False.
        **kwargs: Arguments of mmseg's ``ResNet`` (``style='caffe'`` puts a Bottleneck's
            stride on its 1×1 conv1, as the reference, model_difnet.py:106).
    """

    def __init__(self, *, basic_block_dilation: str = 'conv1', stem_ceil_mode: bool = False,
                 **kwargs) -> None:
        if basic_block_dilation not in DILATED_CONVS:
            raise ValueError(f'DifNetResNet: basic_block_dilation={basic_block_dilation!r} '
                             f'must be one of {DILATED_CONVS}.')
        super().__init__(**kwargs)
        self.basic_block_dilation = basic_block_dilation
        self.maxpool.ceil_mode = bool(stem_ceil_mode)
        if basic_block_dilation == 'conv2':
            for name in self.res_layers:
                for block in getattr(self, name):
                    if isinstance(block, BasicBlock) and block.conv1.dilation != (1, 1):
                        d = block.conv1.dilation  # stride is 1 wherever mmseg dilates
                        block.conv1.dilation, block.conv1.padding = (1, 1), (1, 1)
                        block.conv2.dilation, block.conv2.padding = d, d
