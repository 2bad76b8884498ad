# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Checkpoint integrity, in one place: the record written into every checkpoint, the SHA-256
written beside it, and the verification that every load goes through.

- The record, ``meta['integrity'] = dict(content_sha256=..., written_by=...)``, is a SHA-256
  over everything resume reads: the weights, the optimizer state (SGD momentum), the
  schedulers, the message hub and the meta (every tensor's path, dtype, shape and bytes, and
  every number and string). It is part of the checkpoint, written with it in one atomic
  file, so it survives copies and renames. (Checkpoints of earlier versions carry
  ``state_dict_sha256``, over the weights only; they are checked on that.)
- The sidecar ``<file>.sha256`` is the SHA-256 of the whole file (the Runner writes it).
- :func:`load_from_local` is mmengine's loader of local files (``CheckpointLoader``'s scheme
  ``''``) where this package loads (:func:`.loading.checked_loading`: the package's Runner,
  its tools and readers). A checkpoint without a record (another tool's) loads with a
  one-line notice; one whose weights fail their record is refused as corrupt; an intact
  checkpoint that is not the file its sidecar describes is named as another file (another
  run's, or a copy over this one).
"""
import glob
import hashlib
import os.path as osp
import re
from typing import List, Optional

import numpy as np
import torch
from mmengine.logging import print_log

RECORD = 'integrity'
_CKPT = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def sha256_of(path: str) -> str:
    """SHA-256 of a whole file."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 22), b''):
            h.update(block)
    return h.hexdigest()


def state_dict_sha256(state: dict) -> str:
    """SHA-256 over every tensor of a state dict: name, dtype, shape and bytes, by name."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key]
        if not isinstance(t, torch.Tensor):
            continue
        t = t.detach().cpu().contiguous()
        h.update(f'{key}|{t.dtype}|{tuple(t.shape)}|'.encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _digest(h, path: str, value) -> None:
    """Feed ``value`` (nested dicts, lists, tensors, arrays, numbers, strings) into ``h``,
    each leaf with its path; another object by its type's name only."""
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            _digest(h, f'{path}/{key}', value[key])
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _digest(h, f'{path}/{i}', item)
    elif isinstance(value, (torch.Tensor, np.ndarray)):
        t = torch.as_tensor(value).detach().cpu().contiguous()
        h.update(f'{path}|{t.dtype}|{tuple(t.shape)}|'.encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif value is None or isinstance(value, (bool, int, float, str, bytes, np.generic)):
        h.update(f'{path}={value!r}'.encode())
    else:
        h.update(f'{path}:{type(value).__name__}'.encode())


def content_sha256(checkpoint: dict) -> str:
    """SHA-256 over all of ``checkpoint`` but its integrity record."""
    h = hashlib.sha256()
    meta = {k: v for k, v in checkpoint.get('meta', {}).items() if k != RECORD}
    _digest(h, '', dict(checkpoint, meta=meta))
    return h.hexdigest()


def add_record(checkpoint: dict, written_by: str) -> None:
    """Write the integrity record into ``checkpoint`` (before it is saved)."""
    checkpoint.setdefault('meta', {})[RECORD] = dict(content_sha256=content_sha256(checkpoint),
                                                     written_by=written_by)


def check_record(checkpoint, source: str) -> Optional[dict]:
    """The record of a loaded checkpoint after checking its weights against it, or None when
    it has none. Raises ``ValueError`` naming ``source`` when the weights differ from it."""
    record = checkpoint.get('meta', {}).get(RECORD) if isinstance(checkpoint, dict) else None
    if not isinstance(record, dict):
        return None
    if 'content_sha256' in record:
        what, expected = 'contents (weights, optimizer state, schedule)', record['content_sha256']
        actual = content_sha256(checkpoint)
    elif 'state_dict_sha256' in record:  # written by an earlier version: the weights only
        what, expected = 'weights', record['state_dict_sha256']
        actual = state_dict_sha256(checkpoint.get('state_dict', {}))
    else:
        return None
    if actual != expected:
        raise ValueError(
            f'checkpoint {source!r} is corrupt: its {what} hash to {actual[:16]}..., but the '
            f'integrity record written into it (by {record.get("written_by", "?")}) says '
            f'{expected[:16]}...: bytes changed after it was written (a disk or copy error). '
            'Use an earlier checkpoint of the run (resume picks the newest valid one by '
            'itself), or copy the file again from its source.')
    return record


def verify_sidecar(path: str, checkpoint=None) -> None:
    """Raise ``ValueError`` if ``path`` is not the file its ``.sha256`` sidecar describes,
    telling corruption (the record fails too, or there is none) from another intact file."""
    side = path + '.sha256'
    if not osp.isfile(side):
        return
    with open(side) as f:
        expected = f.read().split()[0]
    actual = sha256_of(path)
    if actual == expected:
        return
    try:
        if checkpoint is None:
            checkpoint = torch.load(path, map_location='cpu')
        record = check_record(checkpoint, path)
    except Exception:  # noqa: BLE001  (unreadable or failing its record: corrupt)
        record = None
    if record is not None:
        raise ValueError(
            f'checkpoint {path!r} is intact (its weights match the record written into it by '
            f'{record.get("written_by", "?")}), but it is not the file that '
            f'{osp.basename(side)} describes: another checkpoint was copied or renamed over '
            'this one. Use the checkpoint you meant, or delete the stale '
            f'{osp.basename(side)} if this file is the one you want.')
    raise ValueError(
        f'checkpoint {path!r} is corrupt: its SHA-256 is {actual[:16]}..., but '
        f'{osp.basename(side)} records {expected[:16]}... (the file changed after it was '
        'written: a disk or copy error). Use an earlier checkpoint of the run (resume picks '
        'the newest valid one by itself), or copy the file again.')


# torch's legacy format written with pickle protocol 0 or 1 (``torch.save(...,
# _use_new_zipfile_serialization=False, pickle_protocol=1)``) opens with its magic number as text
LEGACY_MAGIC_TEXT = b'L119547037146038801333356L'


def check_is_torch_file(path: str) -> None:
    """Raise ``ValueError`` if ``path`` is neither a zip (torch >= 1.6) nor a pickle (older
    torch.save) file: a text file, the ``.sha256`` beside a checkpoint, an image. (torch would
    fail with ``KeyError`` or advise ``weights_only=False``, which would let a file run code.)"""
    with open(path, 'rb') as f:
        head = f.read(len(LEGACY_MAGIC_TEXT))
    if head[:4] == b'PK\x03\x04' or head[:1] == b'\x80':
        return
    if head == LEGACY_MAGIC_TEXT:
        raise ValueError(
            f'{path!r} is a PyTorch checkpoint in the legacy format written with pickle '
            'protocol 0 or 1, which the safe loader (weights_only) cannot read. If you trust '
            'the file, re-save it once with a current torch: torch.save(torch.load(PATH, '
            'weights_only=False), NEW_PATH), and give NEW_PATH.')
    head = head[:4]
    what = ("the SHA-256 written beside a checkpoint: give the .pth itself"
            if path.endswith('.sha256') else 'an empty file' if not head else
            'a text file' if head.isascii() else 'not a file torch.save wrote')
    raise ValueError(f'{path!r} is not a PyTorch checkpoint ({what}). Give the .pth file of '
                     'a trained model (e.g. work_dirs/<run>/iter_N.pth).')


def load_from_local(filename: str, map_location=None):
    """mmengine's local loader, verifying the sidecar and the record (see module doc). Its
    name is mmengine's: mmengine logs "Loads checkpoint by <name after 'load_from_'> backend"."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    check_is_torch_file(filename)
    checkpoint = torch.load(filename, map_location=map_location)
    verify_sidecar(filename, checkpoint)
    if check_record(checkpoint, filename) is None and isinstance(checkpoint, dict) and \
            'state_dict' in checkpoint:
        print_log(f'checkpoint {filename} has no integrity record (not written by '
                  'mmseg-difnet): loaded unverified.', logger='current')
    return checkpoint


def verify_checkpoint(path: str) -> None:
    """Load ``path`` and verify it as :func:`load_from_local` does; raise on failure."""
    from .loading import checked_loading  # it builds on this module
    with checked_loading():
        load_from_local(path, map_location='cpu')


def checkpoints_newest_first(work_dir: str) -> List[str]:
    found = [(int(m.group(1)), p) for p in glob.glob(osp.join(work_dir, '*.pth'))
             if (m := _CKPT.match(osp.basename(p)))]
    return [p for _, p in sorted(found, reverse=True)]


def _step(path: str) -> Optional[int]:
    m = _CKPT.match(osp.basename(path))
    return int(m.group(1)) if m else None


def newest_valid_checkpoint(work_dir: str, log) -> Optional[str]:
    """The checkpoint a resume continues: the one ``last_checkpoint`` names (the run that
    wrote last, as mmengine's own resume), verified; when it is unusable, the newest valid
    checkpoint before it (saying so), and only without a ``last_checkpoint`` the newest
    valid one of the work dir. A checkpoint of a higher iteration than ``last_checkpoint``'s
    is another, earlier run's: it is named and never taken."""
    last_file = osp.join(work_dir, 'last_checkpoint')
    named = open(last_file).read().strip() if osp.isfile(last_file) else None
    if named == '':
        log(f'{last_file} is empty (a run stopped while writing it): looking for the newest '
            'valid checkpoint in the work dir instead.')
    candidates = checkpoints_newest_first(work_dir)
    if named:
        named = named if osp.isabs(named) or osp.isfile(named) else osp.join(work_dir, named)
        limit = _step(named)
        later = [p for p in candidates if limit is not None and (_step(p) or 0) > limit]
        if later:
            log(f'{last_file} names {named}; {len(later)} checkpoint(s) of later iterations '
                f'({", ".join(osp.basename(p) for p in later[:3])}) are another run\'s in the '
                'same work dir and are not resumed.')
        try:
            verify_checkpoint(named)
            return named
        except Exception as e:  # noqa: BLE001  (named, then the run's earlier ones)
            log(f'skipping {named}: it cannot be used ({type(e).__name__}: {e}); it is the '
                f'one {last_file} names, so the newest valid checkpoint before it is taken.')
        candidates = [p for p in candidates if p not in later and p != named]
    for path in candidates:
        try:
            verify_checkpoint(path)
            return path
        except Exception as e:  # noqa: BLE001  (any unusable file is skipped, and named)
            log(f'skipping {path}: it cannot be used ({type(e).__name__}: {e}).')
    return None
