# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Does a checkpoint fit the model? The checks every load path runs, and their messages.

mmengine loads state dicts with ``strict=False`` and only logs the keys that did not fit, so a
checkpoint of another architecture or class count would load partly and silently."""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner import load_state_dict

from .keys import show_keys, strip_module_prefix
from .reading import read_checkpoint, state_dict_of
from .seed import map_plain_checkpoint

FINE_TUNE_OPT_OUT = ('To fine-tune from it on another number of classes, give --cfg-options '
                     'model.check_checkpoint=new_classes (the classifiers start from their '
                     'init, everything else must fit); to load whatever fits, '
                     'model.check_checkpoint=False.')
CHECK_MODES = (True, False, 'new_classes')


class CheckpointMisfit(ValueError):
    """A state dict that does not fit the model; ``detail`` is the message after the name of
    its source, so that a caller that knows the file can name it."""

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f'{source} {detail}')
        self.detail = detail


def classifier_keys(state: Dict[str, torch.Tensor], model: nn.Module) -> List[str]:
    """The keys of ``state`` that hold a head's tensors for another number of classes: of
    ``decode_head.*`` / ``auxiliary_head.*``, of another shape than the model's, with the
    model's class count among the model's dimensions (the classifiers, and H, whose input is
    the score map)."""
    own = model.state_dict()
    return sorted(
        k for k, v in state.items()
        if k.startswith(('decode_head.', 'auxiliary_head.')) and k in own
        and isinstance(v, torch.Tensor) and v.shape != own[k].shape
        and getattr(getattr(model, 'decode_head', None), 'num_classes', None) in own[k].shape)


def plain_checkpoint_hint(state: Dict[str, torch.Tensor], model: nn.Module) -> Optional[str]:
    """For a model with diffusion given its plain version's state dict (what every mmseg user
    gives as ``load_from``), the advice to give it as ``model.seed_checkpoint``."""
    if not hasattr(getattr(model, 'decode_head', None), 'walks'):
        return None
    try:
        map_plain_checkpoint(state, model)
    except ValueError:
        return None
    return ('It is the checkpoint of this model\'s plain version (its backbone and decode '
            'head, no walks): start the model with diffusion from it with --cfg-options '
            'model.seed_checkpoint=<it> (the seed branch loads, H, the walks and the '
            'similarity branch start from their init), not as load_from / --checkpoint.')


def check_state_fits(state: Dict[str, torch.Tensor], model: nn.Module, source: str,
                     how: str) -> None:
    """Raise :class:`CheckpointMisfit` naming the keys of ``state`` (a whole model's state
    dict) that do not fit ``model``: missing, unexpected or of another shape. mmengine would
    load the rest and only log these (its loads are ``strict=False``); ``how`` says what to do
    instead."""
    state = strip_module_prefix(state)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(k for k in set(own) & set(state) if isinstance(
        state[k], torch.Tensor) and state[k].shape != own[k].shape)
    if not (missing or unexpected or mismatched):
        return
    raise CheckpointMisfit(source, (
        f'does not fit this model ({type(model).__name__} of the config): missing keys '
        f'{show_keys(missing)}, unexpected keys {show_keys(unexpected)}, shape mismatches '
        f'{show_keys(mismatched)}. {plain_checkpoint_hint(state, model) or how}'))


def check_load(model: nn.Module, state_dict: dict, prefix: str, mode) -> None:
    """What a model that checks its checkpoints does when ``state_dict`` (keys under
    ``prefix``) is loaded into it (``_load_from_state_dict``): ``mode`` True refuses a state
    dict that does not fit (:func:`check_state_fits`); 'new_classes' first drops from it the
    heads' tensors of another class count (:func:`classifier_keys`: they keep their init);
    False checks nothing."""
    if not mode:
        return
    state = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if mode == 'new_classes':
        restart, own = classifier_keys(state, model), model.state_dict()
        for k in restart:  # they start from their init; the rest must fit
            del state_dict[prefix + k]
            state[k] = own[k]
        if restart:
            print_log(f'check_checkpoint=new_classes: {len(restart)} tensors of the heads for '
                      'another number of classes start from their init: ' + ', '.join(restart),
                      logger='current')
    check_state_fits(state, model, 'the checkpoint loaded into the model',
                     'Use the checkpoint trained with this config, or the config it was '
                     'trained with. ' + FINE_TUNE_OPT_OUT)


def check_checkpoint_fits(path: str, model: nn.Module, resume: bool = False) -> dict:
    """The checkpoint loaded from ``path``; :class:`CheckpointMisfit` naming the keys of its
    state dict that do not fit ``model`` (:func:`check_state_fits`), before anything is
    loaded."""
    ckpt = read_checkpoint(path)
    how = ('Resume only with the config the checkpoint was trained with; to start a new run '
           'from its weights, drop --resume and set load_from.' if resume else
           'Use the checkpoint trained with this config, or the config it was trained with. '
           + FINE_TUNE_OPT_OUT)
    check_state_fits(state_dict_of(ckpt), model, f'checkpoint {path!r}', how)
    return ckpt


def load_fitting_checkpoint(model: nn.Module, path: str) -> nn.Module:
    """Load ``path`` into ``model`` (built by mmseg's ``init_model`` without weights), as
    ``init_model`` would, after :func:`check_checkpoint_fits`: one read of the file."""
    ckpt = check_checkpoint_fits(path, model)
    load_state_dict(model, strip_module_prefix(state_dict_of(ckpt)))  # mmengine's, as init_model
    if 'dataset_meta' in ckpt.get('meta', {}):
        model.dataset_meta = ckpt['meta']['dataset_meta']
    return model
