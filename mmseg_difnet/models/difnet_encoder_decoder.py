# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""An ``EncoderDecoder`` whose neck also sees the image: DifNet's similarity branch."""
from torch import Tensor

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import ConfigType


@MODELS.register_module()
class DifNetEncoderDecoder(EncoderDecoder):
    """mmseg's ``EncoderDecoder``, with one change: the neck gets ``(backbone features, image)``.

    mmseg hands a neck only the backbone's features; DifNet's similarity branch
    (:class:`SimilarityBackbone`, in the neck slot) is a second backbone on the image. Only
    ``extract_feat`` differs, so loss/predict/tensor modes, whole and slide inference,
    test-time augmentation and auxiliary heads behave exactly as for ``EncoderDecoder``.
    """

    def __init__(self, *, backbone: ConfigType, neck: ConfigType, decode_head: ConfigType,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, neck=neck, decode_head=decode_head, **kwargs)
        levels = getattr(self.neck, 'levels', None)
        walks = getattr(self.decode_head, 'num_walks', None)
        if levels is not None and walks is not None and len(levels) != walks:
            raise ValueError(
                f'DifNetEncoderDecoder: the neck gives {len(levels)} similarity levels '
                f'(neck.levels={levels}) but the decode head has {walks} walks '
                f'(decode_head.sim_channels={self.decode_head.sim_channels}); give one '
                'sim_channels entry per level.')

    def extract_feat(self, inputs: Tensor) -> list:
        """Seed features followed by the similarity levels."""
        return self.neck(self.backbone(inputs), inputs)
