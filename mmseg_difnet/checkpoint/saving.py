# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Atomic saving: a checkpoint is written to a hidden temporary file and renamed when complete,
with its SHA-256 beside it (``iter_N.pth.sha256``); a save that fails leaves the previous
checkpoint and ``last_checkpoint`` as they were."""
import errno
import glob
import os
import os.path as osp
import shutil
from typing import Callable

import torch.nn as nn
from mmengine.dist import is_main_process

from .integrity import sha256_of


def checkpoint_bytes(model: nn.Module) -> int:
    """About what a checkpoint of ``model`` takes: the weights and buffers, and the
    optimizer's state (SGD momentum: one more copy of the parameters)."""
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    return weights + params


def partial_save_name(filename: str) -> str:
    """The temporary file a save of ``filename`` writes first (hidden, with the pid)."""
    return f'.{filename}.tmp{os.getpid()}'


def save_atomically(save: Callable[[str, str], None], out_dir: str, filename: str,
                    need: int) -> None:
    """Call ``save(out_dir, temporary name)``, then write the SHA-256 sidecar and rename both
    into place (on the main process; every rank calls ``save``, as mmengine's Runner does).
    Space is checked first; a save that fails removes its partial file and keeps the previous
    checkpoint, naming the sizes when space ran out and saying it did not otherwise (a
    permission, a read-only file system)."""
    tmp = partial_save_name(filename)
    tmp_path, path = osp.join(out_dir, tmp), osp.join(out_dir, filename)
    os.makedirs(out_dir, exist_ok=True)
    free = shutil.disk_usage(out_dir).free

    def failed(why, space=True):
        cause = (f'it needs about {need / 2**20:.0f} MB and {free / 2**20:.0f} MB are free in '
                 f'{out_dir!r}' if space else f'not a lack of space ({free / 2**20:.0f} MB '
                 f'are free in {out_dir!r})')
        fix = ('Free space' if space else 'Fix what the error names (permissions, a '
               'read-only or immutable file system, a file in the way)')
        return (f'saving checkpoint {path!r} failed ({why}): {cause}. The previous '
                f'checkpoint and last_checkpoint are kept. {fix} (or give another '
                '--work-dir) and continue with --resume.')
    if is_main_process() and free < need:
        raise OSError(errno.ENOSPC, failed('not enough space, checked before writing'))
    try:
        save(out_dir, tmp)
        if not is_main_process():
            return
        with open(tmp_path + '.sha256', 'w') as f:
            f.write(f'{sha256_of(tmp_path)}  {filename}\n')
        os.replace(tmp_path + '.sha256', path + '.sha256')
        os.replace(tmp_path, path)  # atomic: a reader sees the old file or the whole new one
    except OSError as e:
        for p in (tmp_path, tmp_path + '.sha256'):
            if osp.isfile(p):
                os.remove(p)
        space = e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
        raise OSError(e.errno, failed(f'{type(e).__name__}: {e}', space)) from e


def remove_partial_saves(work_dir: str, log: Callable[[str], None]) -> None:
    """Remove what a save killed midway (``kill -9``, power loss) left: the hidden
    ``.<name>.pth.tmp<pid>`` files and their ``.sha256``. Call it with the work dir's lock
    held, so that no other save is running."""
    for path in glob.glob(osp.join(work_dir, '.*.tmp[0-9]*')):
        if not osp.isfile(path):
            continue
        size = osp.getsize(path)
        os.remove(path)
        log(f'removed {path} ({size / 2**20:.1f} MB), left by a save that was killed before '
            'it completed.')
