# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
import torch.nn as nn


def unwrap_model(model: nn.Module) -> nn.Module:
    """The segmentor inside its wrappers (DDP's and mmengine's model wrappers, ``SegTTAModel``:
    each holds it as ``.module``)."""
    while hasattr(model, 'module'):
        model = model.module
    return model
