# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
import difflib
import inspect

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.runner.checkpoint import _load_checkpoint
from mmseg.registry import HOOKS

from ..models.checked_encoder_decoder import FINE_TUNE_OPT_OUT, check_state_fits


def _segmentor(model):
    while hasattr(model, 'module'):  # DDP and SegTTAModel wrap the segmentor
        model = model.module
    return model


def check_checkpoint_fits(path: str, model: nn.Module, resume: bool = False) -> dict:
    """The checkpoint loaded from ``path``; ``ValueError`` naming the keys of its state dict
    that do not fit ``model`` (:func:`check_state_fits`), before anything is loaded."""
    # weights-only (torch's default), verified (sidecar and integrity record: .integrity)
    ckpt = _load_checkpoint(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    how = ('Resume only with the config the checkpoint was trained with; to start a new run '
           'from its weights, drop --resume and set load_from.' if resume else
           'Use the checkpoint trained with this config, or the config it was trained with. '
           + FINE_TUNE_OPT_OUT)
    check_state_fits(state, model, f'checkpoint {path!r}', how)
    return ckpt


def load_fitting_checkpoint(model: nn.Module, path: str) -> nn.Module:
    """Load ``path`` into ``model`` (built by mmseg's ``init_model`` without weights), as
    ``init_model`` would, after :func:`check_checkpoint_fits`: one read of the file."""
    from mmengine.runner.checkpoint import _load_checkpoint_to_model
    ckpt = check_checkpoint_fits(path, model)
    _load_checkpoint_to_model(model, ckpt)
    if 'dataset_meta' in ckpt.get('meta', {}):
        model.dataset_meta = ckpt['meta']['dataset_meta']
    return model


def check_hook_arguments(cfg) -> None:
    """Raise ``ValueError`` naming every hook argument of ``default_hooks`` and
    ``custom_hooks`` that the hook does not take. mmengine's ``CheckpointHook`` passes unknown
    arguments on to ``Runner.save_checkpoint``, so a typo (``intervall=2``) trains the whole
    run and fails at its first save; these are checked against both signatures."""
    from mmengine.hooks import CheckpointHook
    from mmengine.registry import HOOKS as ENGINE_HOOKS
    from mmengine.runner import Runner
    hooks = [(f'default_hooks.{k}', h) for k, h in (cfg.get('default_hooks') or {}).items()]
    hooks += [(f'custom_hooks[{i}]', h) for i, h in enumerate(cfg.get('custom_hooks') or [])]
    bad = []
    for key, hook in hooks:
        if not isinstance(hook, dict) or 'type' not in hook:
            continue
        cls = hook['type'] if inspect.isclass(hook['type']) else (
            HOOKS.get(hook['type']) or ENGINE_HOOKS.get(hook['type']))
        if cls is None:
            continue  # mmengine names an unknown type itself
        params = inspect.signature(cls.__init__).parameters
        takes = {n for n, p in params.items() if p.kind is not p.VAR_KEYWORD} - {'self'}
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            if not issubclass(cls, CheckpointHook):
                continue  # another hook's **kwargs: nothing to check against
            takes |= set(inspect.signature(Runner.save_checkpoint).parameters) - {'self'}
        for arg in set(hook) - takes - {'type', 'priority', '_scope_'}:
            near = difflib.get_close_matches(arg, sorted(takes), n=1)
            bad.append(f'{key}.{arg}={hook[arg]!r}: {cls.__name__} takes no argument {arg!r}'
                       + (f' (did you mean {near[0]!r}?)' if near else ''))
    if bad:
        raise ValueError(
            'hook arguments that no hook takes: ' + '; '.join(sorted(bad)) + '. A checkpoint '
            'hook would pass them on and fail at its first save, after the training. Fix or '
            'remove them in the config (or --cfg-options).')


# Schedulers whose learning rate has decayed (to eta_min, often 0) when they end: a run longer
# than the schedule trains its extra iterations at that final value.
_DECAYING = ('PolyLR', 'CosineAnnealingLR', 'CosineRestartLR', 'ExponentialLR', 'StepLR',
             'MultiStepLR', 'OneCycleLR', 'LinearLR', 'PolyParamScheduler')


def check_schedule_covers_the_run(runner) -> None:
    """Raise ``ValueError`` if the iteration-based learning-rate schedule ends before
    ``train_cfg.max_iters`` with a decayed rate (a warning if the last scheduler does not
    decay): raising only ``max_iters`` (``--cfg-options train_cfg.max_iters=...``) leaves the
    schedule's ``end`` as the config resolved it, and the added iterations train at lr 0."""
    max_iters = getattr(runner.train_loop, 'max_iters', None)
    schedulers = runner.param_schedulers or []
    if isinstance(schedulers, dict):
        schedulers = [s for group in schedulers.values() for s in group]
    by_iter = [(i, s) for i, s in enumerate(schedulers) if not getattr(s, 'by_epoch', True)]
    if max_iters is None or runner.iter >= max_iters or not by_iter:
        return
    i, last = max(by_iter, key=lambda p: p[1].end)
    if last.end >= max_iters:
        return
    final = getattr(last, 'eta_min', None)
    longer = f'train_cfg.max_iters={max_iters} param_scheduler.{i}.end={max_iters}'
    if runner.iter > 0:  # resumed: the checkpoint's schedule is kept, a longer one refused
        fix = (f'A resumed run keeps the schedule of its checkpoint, so lengthen it in a new '
               f'run from the checkpoint: drop --resume and give --cfg-options '
               f'load_from={getattr(runner, "_load_from", None) or "<checkpoint>"} {longer} '
               '(the schedule then starts again from its beginning), or resume with '
               f'train_cfg.max_iters={last.end}.')
    else:
        fix = (f'Lengthen the schedule with the run: --cfg-options {longer} (and any scheduler '
               f'that starts after it), or keep train_cfg.max_iters={last.end}.')
    msg = (f'param_scheduler[{i}] ({type(last).__name__}) ends at iteration {last.end} but '
           f'train_cfg.max_iters={max_iters}: iterations {last.end}-{max_iters} would train at '
           f'the schedule\'s final learning rate'
           + (f' ({final:g})' if isinstance(final, (int, float)) else '') + f'. {fix}')
    if type(last).__name__ in _DECAYING:
        raise ValueError(msg)
    runner.logger.warning(msg)


@HOOKS.register_module()
class ConfigCheckHook(Hook):
    """Before training or testing, turn silent mistakes into errors that name the fix:

    - a head whose ``num_classes`` differs from the dataset's number of classes;
    - (the checkpoint of another architecture is refused by the model itself, on every load
      path: :class:`CheckedEncoderDecoder`; ``check_checkpoint=False`` switches that off);
    - a learning-rate schedule that ends, decayed, before ``train_cfg.max_iters``
      (:func:`check_schedule_covers_the_run`, after a resume too).
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

    def before_run(self, runner):
        """``check_checkpoint=False`` (the older spelling of ``model.check_checkpoint=False``)
        switches off the model's own check, before anything is loaded."""
        if not self.check_checkpoint:
            _segmentor(runner.model).check_checkpoint = False

    @staticmethod
    def _check_not_empty(runner, loader_name):
        dataset = getattr(getattr(runner, loader_name, None), 'dataset', None)
        parts = getattr(dataset, 'datasets', [dataset])
        for part in parts:
            if part is not None and len(part) == 0:
                ann = getattr(part, 'ann_file', '') or '(no ann_file)'
                raise ValueError(
                    f'the {loader_name} dataset ({type(part).__name__}) is empty: its split '
                    f'file {ann!r} lists no images (or none of them exist under '
                    f"{getattr(part, 'data_root', '?')!r}). Fill the split file (one image name "
                    'per line, without extension), or point ann_file at the right one.')

    def before_train(self, runner):
        self._check_not_empty(runner, 'train_dataloader')
        self._check_classes(runner, 'train_dataloader')
        check_schedule_covers_the_run(runner)

    def before_val(self, runner):
        self._check_not_empty(runner, 'val_dataloader')

    def before_test(self, runner):
        self._check_not_empty(runner, 'test_dataloader')
        self._check_classes(runner, 'test_dataloader')
