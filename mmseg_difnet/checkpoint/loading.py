# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""This package's checkpoint loading, switched on for a block, never by importing the package.

Inside ``with checked_loading():`` every checkpoint mmengine loads (``load_from``, resume,
``init_cfg=dict(type='Pretrained')``, ``seed_checkpoint``, mmseg's ``init_model``) goes
through these loaders, whatever its scheme:

- local files: :func:`.integrity.load_from_local` (weights-only, the SHA-256 beside the file
  and the record inside it verified);
- ``http(s)://``, ``torchvision://`` / ``modelzoo://``, ``open-mmlab://`` /
  ``openmmlab://``: the file is downloaded into torch's hub cache and read as a local file
  above. (mmengine's own loaders for these call ``torch.hub.load_state_dict_from_url``, which
  unpickles with ``weights_only=False``: a checkpoint fetched by URL could run code.)
  A failure to fetch names the fix (a machine without internet);
- every other scheme (``s3://``, ``pavi://``, ``mmcls://`` …) keeps mmengine's loader; those
  read with torch's default, weights-only;
- torch's weights-only allowlist holds mmengine's checkpoint contents
  (:func:`.weights_only.mmengine_checkpoint_globals`).

Both are restored when the block ends. ``DifNetRunner`` (the package's runtime base) runs
``train``/``val``/``test`` inside it, and the package's own readers (:func:`read_checkpoint`)
enter it; a user of mmseg's ``init_model`` with this package's checkpoints writes
``with checked_loading(): model = init_model(cfg, ckpt)``.
"""
import os
import os.path as osp
from contextlib import contextmanager
from urllib.parse import urlparse

import torch
from mmengine.dist import get_dist_info
from mmengine.runner.checkpoint import (
    CheckpointLoader,
    get_external_models,
    get_torchvision_models,
)

from .integrity import load_from_local
from .weights_only import mmengine_checkpoint_globals


def _download(url: str) -> str:
    """``url`` in torch's hub cache (downloaded once, by local rank 0 first)."""
    path = osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(url).path))
    rank, world_size = get_dist_info()
    for turn in ((0, ) if world_size == 1 else (0, 1)):
        if (rank == 0) == (turn == 0) and not osp.isfile(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
            torch.hub.download_url_to_file(url, path, progress=False)
        if world_size > 1 and turn == 0:
            torch.distributed.barrier()
    return path


def load_from_http(filename: str, map_location=None):
    """A checkpoint by URL, read as a local file (weights-only, verified)."""
    try:
        path = _download(filename)
    except Exception as e:  # noqa: BLE001  (no network, a proxy, 404 ...)
        raise RuntimeError(
            f'cannot fetch the checkpoint {filename!r} ({type(e).__name__}: {e}). Download it '
            'where there is internet and give the file\'s path instead (load_from=, '
            '--checkpoint, or the init_cfg\'s checkpoint=).') from e
    return load_from_local(path, map_location)


def load_from_torchvision(filename: str, map_location=None):
    """``torchvision://NAME`` (``modelzoo://NAME``): torchvision's URL, by :func:`load_from_http`.
    A failure names the fix for the configs' backbones."""
    name = filename.split('://', 1)[1]
    url = get_torchvision_models().get(name)
    try:
        if url is None:
            raise KeyError(f'torchvision has no model named {name!r}')
        return load_from_http(url, map_location)
    except (KeyError, RuntimeError) as e:
        cause = e.__cause__ if isinstance(e, RuntimeError) and e.__cause__ else e
        raise RuntimeError(
            f'cannot fetch the pretrained weights {filename!r} ({type(cause).__name__}: '
            f'{cause}). Download {url or "the weights"} where there is internet and point the '
            'config at the file, for the seed and the similarity backbones: --cfg-options '
            'model.backbone.init_cfg.checkpoint=/path/to/file.pth '
            'model.neck.backbone.init_cfg.checkpoint=/path/to/file.pth') from e


def load_from_openmmlab(filename: str, map_location=None):
    """``open-mmlab://NAME`` (``openmmlab://NAME``): mmengine's table of URLs, by
    :func:`load_from_http` (a table entry that is a path: under mmengine's home, as a local
    file)."""
    name = filename.split('://', 1)[1]
    url = get_external_models()[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location)
    from mmengine.runner.checkpoint import _get_mmengine_home  # no public name for it
    return load_from_local(osp.join(_get_mmengine_home(), url), map_location)


LOADERS = {'': load_from_local, 'http://': load_from_http, 'https://': load_from_http,
           'torchvision://': load_from_torchvision, 'modelzoo://': load_from_torchvision,
           'open-mmlab://': load_from_openmmlab, 'openmmlab://': load_from_openmmlab}


@contextmanager
def checked_loading():
    """Within the block, mmengine's checkpoint loaders are this module's and torch's
    weights-only allowlist holds mmengine's checkpoint contents; both as they were after it.
    Re-entrant (an inner block changes nothing). Both tables are process-wide: a block in one
    thread is seen by the others while it lasts."""
    # mmengine offers register_scheme but no way to restore a scheme: its table is the
    # class attribute _schemes, saved and put back whole.
    if CheckpointLoader._schemes.get('') is load_from_local:
        yield
        return
    saved = CheckpointLoader._schemes.copy()  # register_scheme writes into the table
    for prefix, loader in LOADERS.items():
        CheckpointLoader.register_scheme(prefixes=prefix, loader=loader, force=True)
    try:
        with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
            yield
    finally:
        CheckpointLoader._schemes = saved
