# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Any mmseg model with a post-processor on its output, tested as any model is: ``tools/test.py``
or ``mim test`` with the base model's checkpoint, ``tools/infer.py`` (beyond the paper;
docs/studies/refinement.md, "Post-processing")."""
import copy
from collections import OrderedDict
from typing import List, Optional

import torch
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptSampleList, SampleList
from torch import Tensor

PARTS = ('base.', 'post.')


@MODELS.register_module()
class PostProcessedSegmentor(BaseSegmentor):
    """``base`` (any mmseg segmentor config, e.g. a zoo model's ``model``) whose class
    probabilities p = softmax(logits) at its input's size go through ``post_processor``
    (:class:`Refiner`, :class:`DenseCRF`, or None: the base's own prediction) with the image,
    then mmseg's ``postprocess_result`` (cropping, resizing to the original size, argmax) of
    log p'. The base is never trained here (``loss`` refuses).

    A checkpoint of the base model loads as it is (its keys go to ``base.``), so the base's
    own checkpoint is the ``--checkpoint`` of ``tools/test.py`` / ``mim test``; the refiner's
    weights come from ``post_processor.checkpoint``.

    Args:
        base (dict): The base segmentor's config; its ``data_preprocessor`` becomes this
            model's.
        post_processor (dict, optional): Default: None.
        data_preprocessor (dict, optional): Used where ``base`` has none. Default: None.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, base: ConfigType, post_processor: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: Optional[dict] = None, pretrained=None, train_cfg=None) -> None:
        # pretrained, train_cfg: mmseg's init_model sets both to None on any model config;
        # the base keeps its own (this wrapper is never trained)
        base = copy.deepcopy(dict(base))
        # the base's own preprocessing; mmengine's Runner also passes a config's top-level
        # data_preprocessor, used where the base has none
        super().__init__(data_preprocessor=base.pop('data_preprocessor', None)
                         or data_preprocessor, init_cfg=init_cfg)
        self.base = MODELS.build(base)
        self.post = None if post_processor is None else MODELS.build(post_processor)
        self.register_load_state_dict_pre_hook(self._base_keys)

    @staticmethod
    def _base_keys(module, state_dict, prefix, *args) -> None:
        """A checkpoint of the base model (keys without ``base.``) loads into ``base``; the
        post-processor keeps its own weights (from its own checkpoint), so no loader reports
        them missing."""
        for k in [k for k in state_dict if k.startswith(prefix)
                  and not k[len(prefix):].startswith(PARTS)]:
            state_dict[prefix + 'base.' + k[len(prefix):]] = state_dict.pop(k)
        if module.post is not None:
            for k, v in module.post.state_dict().items():
                state_dict.setdefault(prefix + 'post.' + k, v)

    def state_dict(self, *, destination=None, prefix: str = '', keep_vars: bool = False):
        """The base's state dict as the base model's own (its keys without ``base.``): what
        the checkpoint fit checks compare with the base's checkpoint; the post-processor's
        weights come from its own checkpoint."""
        out = OrderedDict() if destination is None else destination
        for k, v in super().state_dict(prefix=prefix, keep_vars=keep_vars).items():
            if k[len(prefix):].startswith('base.'):
                out[prefix + k[len(prefix) + len('base.'):]] = v
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Loads the base's weights; the post-processor keeps its own."""
        result = super().load_state_dict(state_dict, strict=False, assign=assign)
        missing = [k for k in result.missing_keys if not k.startswith('post.')]
        if strict and (missing or result.unexpected_keys):
            raise RuntimeError(f'PostProcessedSegmentor: missing keys {missing[:5]}, '
                               f'unexpected keys {result.unexpected_keys[:5]}.')
        return result

    @property
    def align_corners(self) -> bool:
        return self.base.align_corners

    @property
    def decode_head(self):
        """The base's decode head (its classes, ignore index; what mmseg's tools read)."""
        return self.base.decode_head

    def rgb(self, inputs: Tensor) -> Tensor:
        """The preprocessed input back to RGB in 0..255 (B, 3, H, W), padding included."""
        pre = self.data_preprocessor
        x = inputs
        if getattr(pre, '_enable_normalize', False):
            x = x * pre.std + pre.mean
        return x if getattr(pre, 'channel_conversion', False) else x.flip(1)

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        return self.base.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """log p' at the input's size: the base's logits, softmax, the post-processor."""
        logits = self.base.inference(inputs, batch_img_metas)  # (B, K, H, W)
        if self.post is None:
            return logits
        probs = self.post(torch.softmax(logits.float(), dim=1), self.rgb(inputs))
        return probs.clamp(min=1e-8).log()

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        raise RuntimeError('PostProcessedSegmentor is for testing and inference: the base model '
                           'is trained with its own config, the refiner with its own '
                           '(configs/refiner/).')

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        if data_samples is None:
            shape = inputs.shape[2:]
            metas = [dict(ori_shape=shape, img_shape=shape, pad_shape=shape,
                          padding_size=[0, 0, 0, 0])] * inputs.shape[0]
        else:
            metas = [s.metainfo for s in data_samples]
        with torch.no_grad():
            out = self.encode_decode(inputs, metas)
        return self.base.postprocess_result(out, data_samples)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        metas = [s.metainfo for s in data_samples] if data_samples else [
            dict(img_shape=inputs.shape[2:], pad_shape=inputs.shape[2:])] * inputs.shape[0]
        return self.encode_decode(inputs, metas)
