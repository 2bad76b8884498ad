# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
import torch.nn as nn
from mmengine.model import BaseTTAModel, is_model_wrapper


def unwrap_model(model: nn.Module) -> nn.Module:
    """The segmentor inside its wrappers: mmengine's model wrappers (DDP's included,
    :func:`is_model_wrapper`) and a test-time augmentation model (``SegTTAModel``, which
    mmengine does not count as a wrapper), each holding it as ``.module``."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model
