# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The checks of a run's configuration, each once: the Runner and :class:`ConfigCheckHook`
call them at the moment each can first be made."""
import difflib
import inspect
import os.path as osp
from typing import List, Optional

import torch.nn as nn
from mmengine.dist import get_world_size
from mmseg.registry import HOOKS

from ..utils.unwrap import unwrap_model

# Schedulers whose learning rate has decayed (to eta_min, often 0) when they end: a run longer
# than the schedule trains its extra iterations at that final value.
_DECAYING = ('PolyLR', 'CosineAnnealingLR', 'CosineRestartLR', 'ExponentialLR', 'StepLR',
             'MultiStepLR', 'OneCycleLR', 'LinearLR', 'PolyParamScheduler')


def flat_schedulers(param_schedulers) -> list:
    """A runner's parameter schedulers (built, or still configs; a list, or a dict of lists
    per optimizer) as one list."""
    schedulers = param_schedulers or []
    if isinstance(schedulers, dict):
        schedulers = [s for group in schedulers.values() for s in group]
    return list(schedulers)


def planned_end(scheduler) -> Optional[int]:
    """The iteration a scheduler ends at, or None where that is not known yet (a config
    counted in epochs)."""
    if isinstance(scheduler, dict):
        return None if scheduler.get('by_epoch', True) else scheduler.get('end')
    return getattr(scheduler, 'end', None)


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


def check_schedule_covers_the_run(runner) -> None:
    """Raise ``ValueError`` if the iteration-based learning-rate schedule ends before
    ``train_cfg.max_iters`` with a decayed rate (a warning if the last scheduler does not
    decay): raising only ``max_iters`` (``--cfg-options train_cfg.max_iters=...``) leaves the
    schedule's ``end`` as the config resolved it, and the added iterations train at lr 0."""
    max_iters = getattr(runner.train_loop, 'max_iters', None)
    by_iter = [(i, s) for i, s in enumerate(flat_schedulers(runner.param_schedulers))
               if not getattr(s, 'by_epoch', True)]
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


def check_resumed_schedule(planned: List[Optional[int]], schedulers: list,
                           filename: str) -> None:
    """After a resume: ``RuntimeError`` if a scheduler restored from ``filename`` ends
    elsewhere than the config planned (``planned``, one end per scheduler): the old schedule
    would go on, at lr 0 after its end for PolyLR."""
    for i, (scheduler, end) in enumerate(zip(schedulers, planned)):
        if end is not None and getattr(scheduler, 'end', end) != end:
            raise RuntimeError(
                f'param_scheduler[{i}] ({type(scheduler).__name__}) ends at {end} in the '
                f'config but at {scheduler.end} in {filename!r}: resuming would keep the '
                'old schedule (the learning rate would stay at its final value, 0 for '
                'PolyLR, after it). Resume with the original train_cfg.max_iters and '
                'param_scheduler, or start a new run from this checkpoint with the new '
                'schedule: --cfg-options load_from=<checkpoint> without --resume.')


def images_per_step_warning(meta: dict, batch_per_process: int,
                            filename: str) -> Optional[str]:
    """The warning for a resumed run that takes another number of images per step than the
    run it continues (``meta``: the checkpoint's, written by :class:`SafeCheckpointHook`),
    whose schedule and lr were planned for the old one; None when they agree."""
    if 'world_size' not in (meta or {}):
        return None
    old = (meta['world_size'], meta.get('batch_per_process'))
    new = (get_world_size(), batch_per_process)
    if old == new:
        return None
    return (f'resume: {filename!r} was trained with {old[0]} process(es) × {old[1]} images '
            f'= {old[0] * (old[1] or 0)} images per step, this run takes {new[0]} × '
            f'{new[1]} = {new[0] * new[1]}: the learning rate and schedule are unchanged, '
            'so training differs from the run it continues. Resume with as many processes '
            '(tools/train.sh CONFIG N) and the same train_dataloader.batch_size to continue '
            'it exactly.')


def split_files(dataset_cfg) -> List[str]:
    """The ``ann_file`` paths of a dataset config (and of its ``datasets``)."""
    if not isinstance(dataset_cfg, dict):
        return []
    files = [f for d in dataset_cfg.get('datasets', []) for f in split_files(d)]
    ann = dataset_cfg.get('ann_file')
    if ann:
        files.append(osp.join(dataset_cfg.get('data_root') or '', ann))
    return files


def empty_split_error(what: str, files, data_root: Optional[str] = None) -> ValueError:
    """The error for a dataset without images: ``what`` names it, ``files`` its split
    file(s)."""
    where = (f" (or none of them exist under {data_root!r})" if data_root is not None else '')
    return ValueError(
        f'{what} is empty: its split file(s) {files} list no images{where}. Fill the split '
        'file (one image name per line, without extension), or point ann_file at the right '
        'one.')


def check_not_empty(runner, loader_name: str) -> None:
    """``ValueError`` naming the split file of a built dataset that holds no sample."""
    dataset = getattr(getattr(runner, loader_name, None), 'dataset', None)
    for part in getattr(dataset, 'datasets', [dataset]):
        if part is not None and len(part) == 0:
            raise empty_split_error(
                f'the {loader_name} dataset ({type(part).__name__})',
                repr(getattr(part, 'ann_file', '') or '(no ann_file)'),
                getattr(part, 'data_root', '?'))


def _dataset_parts(runner, loader_name: str) -> list:
    """The datasets of a runner's loader (the parts of a ConcatDataset), or [] where the
    loader is not configured."""
    try:
        dataset = getattr(runner, loader_name).dataset
    except (AttributeError, RuntimeError):  # no such loop in this run
        return []
    return [d for d in getattr(dataset, 'datasets', [dataset]) if d is not None]


def check_split_files(runner, loader_name: str, warn) -> None:
    """``FileNotFoundError`` naming the split file, the files it lists that do not exist
    (the first four, and the count of such names) and the fix, for every dataset of the
    loader read from a split file (``ann_file``): before any work, not when the sampler
    reaches the name.
    Names listed more than once are ``warn``-ed (each would be seen, and scored, that many
    times, as in plain mmseg)."""
    for part in _dataset_parts(runner, loader_name):
        ann = getattr(part, 'ann_file', '')
        if not ann:
            continue
        missing, names, seen, repeated = [], 0, set(), []
        for i in range(len(part)):
            info = part.get_data_info(i)
            gone = [p for p in (info.get('img_path'), info.get('seg_map_path'))
                    if p and '://' not in p and not osp.isfile(p)]
            missing += gone
            names += bool(gone)
            if info['img_path'] in seen:
                repeated.append(osp.basename(info['img_path']))
            seen.add(info['img_path'])
        if missing:
            raise FileNotFoundError(
                f'the split file {ann!r} of the {loader_name} dataset ({type(part).__name__}) '
                f'lists {names} name(s) whose files do not exist, e.g. {missing[:4]}: remove '
                'those names from the split file, or add the files (check data_root and '
                'data_prefix, and the suffixes img_suffix / seg_map_suffix).')
        if repeated:
            warn(f'the split file {ann!r} of the {loader_name} dataset lists '
                 f'{len(repeated)} name(s) more than once (e.g. {sorted(set(repeated))[:5]}): '
                 'each is loaded, and scored, once per listing. Remove the repeats unless '
                 'that is meant.')


def check_scored_images(runner, loader_name: str) -> None:
    """``ValueError`` naming every image of the loader's datasets that is empty, truncated,
    damaged or a decompression bomb (the first four, and the count), before any frame is
    scored: the checks of ``LoadImageChecked``, once per file. The val and test pipelines
    load by mmseg's name (``LoadImageFromFile``, which ``MMSegInferencer`` looks for), so a
    frame is checked here instead of at each load. Files whose path is a URL are skipped."""
    from mmengine import fileio

    from ..datasets.load_image_checked import (
        check_image_bytes,
        check_jpeg_scan,
        check_pixel_budget,
    )
    for part in _dataset_parts(runner, loader_name):
        bad, n = [], 0
        for i in range(len(part)):
            path = part.get_data_info(i).get('img_path')
            if not path or '://' in path or not osp.isfile(path):
                continue  # a missing file is check_split_files' to name
            try:
                data = fileio.get(path)
                check_image_bytes(data, path)
                check_pixel_budget(data, path)
                check_jpeg_scan(data, path)
            except ValueError as e:
                n += 1
                if len(bad) < 4:
                    bad.append(str(e).split('. ')[0])
        if n:
            raise ValueError(
                f'{n} image(s) of the {loader_name} dataset ({type(part).__name__}) cannot be '
                f'scored: {"; ".join(bad)}. Copy or extract those files again, or remove them '
                'from the split file.')


def check_classes(runner, loader_name: str) -> None:
    """``ValueError`` when a head's ``num_classes`` differs from the dataset's classes."""
    dataset = getattr(getattr(runner, loader_name, None), 'dataset', None)
    classes = getattr(dataset, 'metainfo', {}).get('classes')
    if classes is None:
        return
    model = unwrap_model(runner.model)
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
