# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The one way this package reads a checkpoint file: through mmengine's loader, inside
:func:`.loading.checked_loading` (weights-only whatever the scheme; a local file's sidecar and
record verified)."""
import os
from typing import Dict, List

import torch
from mmengine.runner.checkpoint import _load_checkpoint

from .loading import checked_loading


def read_checkpoint(path) -> dict:
    """The checkpoint at ``path`` (a file, or a URL mmengine knows), on the CPU, verified."""
    with checked_loading():
        return _load_checkpoint(os.fspath(path), map_location='cpu')


def state_dict_of(checkpoint) -> Dict[str, torch.Tensor]:
    """The model's state dict inside a loaded checkpoint (mmengine's, or a bare state dict)."""
    return checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}


def walk_params_from_checkpoint(path: str) -> Dict[str, List[float]]:
    """μ_t and β_t of every walk and the walks'
    temperatures τ_t (``learn_temperature``) where the head has them, from a checkpoint alone
    (no config, no data)."""
    state = state_dict_of(read_checkpoint(path))
    T = 1 + max((int(k.split('.')[2]) for k in state
                 if k.startswith('decode_head.walks.') and k.endswith('.mu_logit')), default=-1)
    if T == 0:
        raise ValueError(f'{path!r} holds no DifNet walks (no decode_head.walks.*.mu_logit '
                         'keys): is it a DifNet checkpoint?')
    params = {name: [torch.sigmoid(state[f'decode_head.walks.{t}.{name}_logit']).item()
                     for t in range(T)] for name in ('mu', 'beta')}
    if 'decode_head.walks.0.log_temperature' in state:
        params['temperature'] = [torch.exp(state[f'decode_head.walks.{t}.log_temperature'])
                                 .item() for t in range(T)]
    return params
