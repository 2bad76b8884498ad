# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""mmseg's ``EncoderDecoder`` with the checks that turn silent wrong results into errors."""
import difflib
import inspect
import os.path as osp
import re
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from ..utils.exporting import exporting
from .seed_checkpoint import map_plain_checkpoint


def check_labels(data_samples: OptSampleList, num_classes: int, ignore_index: int,
                 stage: str) -> None:
    """Every label is a class index or the ignore index, or a ``ValueError`` names the file.

    Out of range, a label is silently skipped by mmseg's metric (changing the mIoU) or fails
    deep inside the loss.
    """
    for sample in data_samples or []:
        if 'gt_sem_seg' not in sample:
            continue
        label = sample.gt_sem_seg.data
        bad = label[(label >= num_classes) | (label < 0)]
        bad = bad[bad != ignore_index].unique()
        if bad.numel():
            raise ValueError(
                f'{stage}: label values {bad.tolist()[:10]} in '
                f'{sample.get("seg_map_path", "?")} lie outside [0, {num_classes}) and are '
                f'not the ignore index {ignore_index}: set decode_head.num_classes to the '
                "number of classes, or convert the labels (mmseg's dataset converters; "
                'reduce_zero_label=True for datasets whose 0 is background to ignore).')


FINE_TUNE_OPT_OUT = ('To fine-tune from it on another number of classes, give --cfg-options '
                     'model.check_checkpoint=new_classes (the classifiers start from their '
                     'init, everything else must fit); to load whatever fits, '
                     'model.check_checkpoint=False.')
CHECK_MODES = (True, False, 'new_classes')


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


class CheckpointMisfit(ValueError):
    """A state dict that does not fit the model; ``detail`` is the message after the name of
    its source, so that a caller that knows the file can name it."""

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f'{source} {detail}')
        self.detail = detail


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
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(k for k in set(own) & set(state) if isinstance(
        state[k], torch.Tensor) and state[k].shape != own[k].shape)
    if not (missing or unexpected or mismatched):
        return

    def show(keys: List[str]) -> str:
        return f'{len(keys)} ({", ".join(keys[:5])}{", ..." if len(keys) > 5 else ""})'
    raise CheckpointMisfit(source, (
        f'does not fit this model ({type(model).__name__} of the config): missing keys '
        f'{show(missing)}, unexpected keys {show(unexpected)}, shape mismatches '
        f'{show(mismatched)}. {plain_checkpoint_hint(state, model) or how}'))


def explain_unknown_argument(error: TypeError, parts: dict) -> Optional[TypeError]:
    """For "X.__init__() got an unexpected keyword argument 'a'" raised while building the
    parts (``backbone``, ``neck``, ``decode_head``, ``auxiliary_head`` configs), a
    ``TypeError`` naming the config key, the class and the closest argument it takes."""
    m = re.search(r"got an unexpected keyword argument '(\w+)'", str(error))
    if m is None:
        return None
    arg = m.group(1)
    for part, cfgs in parts.items():
        many = isinstance(cfgs, (list, tuple))
        for i, cfg in enumerate(cfgs if many else [cfgs]):
            if not isinstance(cfg, dict) or arg not in cfg:
                continue
            cls = MODELS.get(cfg['type']) if isinstance(cfg.get('type'), str) else cfg.get('type')
            if not inspect.isclass(cls):
                continue
            takes = sorted({n for c in inspect.getmro(cls) if '__init__' in vars(c)
                            for n, p in inspect.signature(c.__init__).parameters.items()
                            if n != 'self' and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)})
            if arg in takes:
                continue  # not this part's mistake
            near = difflib.get_close_matches(arg, takes, n=1)
            key = f'model.{part}' + (f'[{i}]' if many else '')
            return TypeError(f'{key}.{arg}={cfg[arg]!r}: {cls.__name__} takes no argument '
                             f'{arg!r}' + (f' (did you mean {near[0]!r}?)' if near else '')
                             + '. Fix the key in the config (or --cfg-options).')
    return None


@MODELS.register_module()
class CheckedEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` that checks, in training, validation and testing alike, that the
    labels are class indices and that the input holds no NaN/Inf (one NaN pixel would
    turn the whole prediction into class 0 through the softmax), and that a checkpoint loaded
    into it is of this model (:meth:`_load_from_state_dict`).

    Args:
        seed_checkpoint (str, optional): A plain mmseg model's checkpoint (``backbone``,
            ``decode_head``, ``auxiliary_head``) to start from when the weights are
            initialised (a fresh run; ``load_from`` and ``--resume`` load over it). Under a
            :class:`DiffusionHead` its decode head becomes the seed head and H, the walks and
            the similarity branch start from their init (:func:`map_plain_checkpoint`); a
            checkpoint of another model or class count is refused. Default: None.
        check_checkpoint (bool | str): True: refuse a checkpoint whose keys or shapes do
            not fit the model, on every path that loads one. 'new_classes': fine-tuning from
            a checkpoint of another number of classes (a zoo model on one's own data): the
            heads' tensors of the other class count (classifiers, H) start from their init,
            everything else must fit. False: mmengine loads what fits and logs the rest.
            Default: True.
        **kwargs: Arguments of mmseg's ``EncoderDecoder``.
    """

    def __init__(self, *, seed_checkpoint: Optional[str] = None, check_checkpoint: bool = True,
                 **kwargs) -> None:
        try:
            super().__init__(**kwargs)
        except TypeError as e:  # a misspelt argument of a part: name the key, and the fix
            better = explain_unknown_argument(e, {k: kwargs.get(k) for k in (
                'backbone', 'neck', 'decode_head', 'auxiliary_head')})
            if better is None:
                raise
            raise better from e
        if check_checkpoint not in CHECK_MODES:
            raise ValueError(f'model.check_checkpoint={check_checkpoint!r} is not one of '
                             f'{CHECK_MODES}.')
        self.seed_checkpoint = seed_checkpoint
        self.check_checkpoint = check_checkpoint

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Every load of a state dict into the whole model comes here first, whoever calls
        it: the Runner's ``load_from`` and resume, mmengine's plain Runner under ``mim test``
        whatever the config's hooks, mmseg's ``init_model``, ``model.load_state_dict``. One
        of another architecture or class count is refused (:func:`check_state_fits`)."""
        if self.check_checkpoint:
            state = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
            if self.check_checkpoint == 'new_classes':
                restart, own = classifier_keys(state, self), self.state_dict()
                for k in restart:  # they start from their init; the rest must fit
                    del state_dict[prefix + k]
                    state[k] = own[k]
                if restart:
                    print_log(f'check_checkpoint=new_classes: {len(restart)} tensors of the '
                              'heads for another number of classes start from their init: '
                              + ', '.join(restart), logger='current')
            check_state_fits(state, self, 'the checkpoint loaded into the model',
                             'Use the checkpoint trained with this config, or the config it '
                             'was trained with. ' + FINE_TUNE_OPT_OUT)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def init_weights(self) -> None:
        """Every module's own init, then the plain model's weights of ``seed_checkpoint``."""
        super().init_weights()
        if self.seed_checkpoint is None:
            return
        if '://' not in self.seed_checkpoint and not osp.isfile(self.seed_checkpoint):
            raise FileNotFoundError(
                f'model.seed_checkpoint={self.seed_checkpoint!r} does not exist: give the '
                'checkpoint of the trained plain model (e.g. work_dirs/<run>/iter_N.pth).')
        ckpt = _load_checkpoint(self.seed_checkpoint, map_location='cpu')  # verified
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
        mapped, fresh = map_plain_checkpoint(state, self, self.seed_checkpoint)
        for name, part in self.named_children():  # a part of the model: not the whole-model check
            part.load_state_dict({k[len(name) + 1:]: v for k, v in mapped.items()
                                  if k.startswith(name + '.')}, strict=False)
        parts = sorted({'.'.join(k.split('.')[:2]) for k in fresh})
        print_log(f'seed branch loaded from {self.seed_checkpoint} ({len(mapped)} tensors); '
                  f'{len(fresh)} tensors start from their init: {", ".join(parts)}',
                  logger='current')


    def _check(self, inputs: Tensor, data_samples: OptSampleList, stage: str) -> None:
        if exporting():  # a graph cannot branch on tensor data; the inputs are symbolic
            return
        check_labels(data_samples, self.decode_head.num_classes,
                     self.decode_head.ignore_index, stage)
        if not inputs.isfinite().all():
            paths = [s.get('img_path', '?') for s in data_samples or []]
            raise ValueError(
                f'{stage}: the input of {paths or "this batch"} holds '
                f'{int((~inputs.isfinite()).sum())} NaN/Inf values: the prediction would be '
                'meaningless. Check the image (or the array given to inference_model).')

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        self._check(inputs, data_samples, 'training')
        return super().loss(inputs, data_samples)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        self._check(inputs, data_samples, 'validation/test')
        return super().predict(inputs, data_samples)
