# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Start a diffusion model from a plain mmseg model's checkpoint: the key mapping, in one place.

A plain model (``EncoderDecoder`` with ``backbone``, ``decode_head`` and optionally
``auxiliary_head``) becomes the seed branch of a :class:`DifNetEncoderDecoder`: its backbone is
the seed backbone, its decode head the seed head (``decode_head.seed_head.*`` under a
:class:`DiffusionHead`; unchanged under :class:`DifNetHead`, whose ASPP-v2 keys are
DeepLabV2Head's), its auxiliary head the auxiliary head. H, the walks and the similarity branch
start fresh.

Not mmengine's ``Pretrained`` init with ``prefix`` (one per part): it loads with strict=False
and only logs what does not fit, where this mapping refuses another model's checkpoint naming
the keys, for every part at once.
"""
import os.path as osp
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log

from .keys import show_keys, strip_module_prefix
from .reading import read_checkpoint, state_dict_of


def map_plain_checkpoint(state: Dict[str, torch.Tensor], model: nn.Module, source: str = '?'
                         ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Map a plain model's state dict onto ``model``'s keys.

    Returns the mapped state dict and the model's keys it leaves to their init (the
    diffusion's). Raises ``ValueError`` naming the keys when the checkpoint is of another model:
    a key that maps nowhere, a seed key (backbone, seed head, auxiliary head) it lacks, or a
    shape that differs (another number of classes named as such).
    """
    state = strip_module_prefix(state)
    head = getattr(model, 'decode_head', None)
    head_prefix = 'decode_head.seed_head.' if hasattr(head, 'seed_head') else 'decode_head.'
    own = model.state_dict()
    mapped, nowhere = {}, []
    for k, v in state.items():
        if k.startswith('decode_head.'):
            new = head_prefix + k[len('decode_head.'):]
        elif k.startswith(('backbone.', 'auxiliary_head.')):
            new = k
        else:
            new = None
        if new is None or new not in own:
            nowhere.append(k)
        else:
            mapped[new] = v
    seed_keys = [k for k in own if k.startswith(('backbone.', head_prefix, 'auxiliary_head.'))
                 and not k.startswith(('decode_head.importance.',
                                       'decode_head.walks.'))]  # the diffusion's own
    lacking = [k for k in seed_keys if k not in mapped]
    shapes = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in mapped.items()
              if isinstance(v, torch.Tensor) and v.shape != own[k].shape]
    problems = []
    if nowhere:
        problems.append(f'keys that map to nothing in this model {show_keys(nowhere)}')
    if lacking:
        problems.append(f'seed-branch keys of this model that it lacks {show_keys(lacking)}')
    if shapes:
        k, got, want = shapes[0]
        classes = getattr(head, 'out_channels', None)
        if classes is not None and want and want[0] == classes and got[0] != classes:
            problems.append(f'another number of classes: {k} has {got[0]} outputs, the '
                            f'config {classes} (set decode_head.num_classes to the '
                            'checkpoint\'s, or train the plain model on this dataset)')
        problems.append('shape mismatches ' + show_keys(
            [f'{k} {tuple(g)} vs {tuple(w)}' for k, g, w in shapes], 3))
    if problems:
        raise ValueError(
            f'model.seed_checkpoint={source!r} is not a checkpoint of this model\'s plain '
            f'version (backbone, decode head as seed head, auxiliary head): '
            + '; '.join(problems) + '. Use a checkpoint trained with the plain config whose '
            'backbone and decode head this config wraps.')
    fresh = [k for k in own if k not in mapped]
    return mapped, fresh


def load_seed_checkpoint(model: nn.Module, path: str) -> None:
    """Load the plain model's checkpoint ``path`` into ``model``'s seed branch
    (:func:`map_plain_checkpoint`), part by part (each part's own load, not the whole
    model's fit check); what it leaves keeps its init, and the log says which parts."""
    if '://' not in path and not osp.isfile(path):
        raise FileNotFoundError(
            f'model.seed_checkpoint={path!r} does not exist: give the checkpoint of the '
            'trained plain model (e.g. work_dirs/<run>/iter_N.pth).')
    mapped, fresh = map_plain_checkpoint(state_dict_of(read_checkpoint(path)), model, path)
    for name, part in model.named_children():
        part.load_state_dict({k[len(name) + 1:]: v for k, v in mapped.items()
                              if k.startswith(name + '.')}, strict=False)
    parts = sorted({'.'.join(k.split('.')[:2]) for k in fresh})
    print_log(f'seed branch loaded from {path} ({len(mapped)} tensors); {len(fresh)} tensors '
              f'start from their init: {", ".join(parts)}', logger='current')
