# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.runner.checkpoint import _load_checkpoint
from mmseg.registry import HOOKS


def _segmentor(model):
    while hasattr(model, 'module'):  # DDP and SegTTAModel wrap the segmentor
        model = model.module
    return model


@HOOKS.register_module()
class ConfigCheckHook(Hook):
    """Before training or testing, turn two silent mistakes into errors that name the fix:

    - a head whose ``num_classes`` differs from the dataset's number of classes;
    - a checkpoint (``load_from``, ``--checkpoint``) of another architecture, whose weights
      mmengine would load only in part (it merely logs missing and unexpected keys).
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_checkpoint: bool = True) -> None:
        self.check_checkpoint = check_checkpoint

    def _check_classes(self, runner, loader_name):
        dataset = getattr(getattr(runner, loader_name, None), 'dataset', None)
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        if classes is None:
            return
        model = _segmentor(runner.model)
        heads = [('model.decode_head', getattr(model, 'decode_head', None))]
        aux = getattr(model, 'auxiliary_head', None)
        if isinstance(aux, nn.ModuleList):
            heads += [(f'model.auxiliary_head[{i}]', h) for i, h in enumerate(aux)]
        else:
            heads.append(('model.auxiliary_head', aux))
        for key, head in heads:
            n = getattr(head, 'num_classes', None)
            if n is not None and n != len(classes):
                raise ValueError(
                    f'{key}.num_classes={n} but the {loader_name} dataset '
                    f'({type(dataset).__name__}) has {len(classes)} classes: set '
                    f'{key}.num_classes={len(classes)} in the config.')

    def _check_checkpoint(self, runner):
        path = runner._load_from
        if not (self.check_checkpoint and path) or runner._resume:
            return
        ckpt = _load_checkpoint(path, map_location='cpu')  # weights-only (torch's default)
        state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
        state = {k[len('module.'):] if k.startswith('module.') else k: v
                 for k, v in state.items()}
        own = _segmentor(runner.model).state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        mismatched = sorted(k for k in set(own) & set(state) if isinstance(
            state[k], torch.Tensor) and state[k].shape != own[k].shape)
        if missing or unexpected or mismatched:
            def show(keys):
                return f'{len(keys)} ({", ".join(keys[:5])}{", ..." if len(keys) > 5 else ""})'
            raise ValueError(
                f'checkpoint {path!r} does not fit this model ({type(runner.model).__name__} '
                f'of the config): missing keys {show(missing)}, unexpected keys '
                f'{show(unexpected)}, shape mismatches {show(mismatched)}. Use the checkpoint '
                'trained with this config, or the config it was trained with.')

    def before_train(self, runner):
        self._check_classes(runner, 'train_dataloader')
        self._check_checkpoint(runner)

    def before_test(self, runner):
        self._check_classes(runner, 'test_dataloader')
        self._check_checkpoint(runner)
