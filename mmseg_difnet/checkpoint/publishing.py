# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""A trained checkpoint made ready to share, as mmseg's ``tools/misc/publish_model.py`` does
(the weights and the run's meta, no optimizer, the file's SHA-256 in its name). mmseg's tool
cannot read mmengine 0.10's checkpoints on torch >= 2.6 (weights-only unpickling refuses the
message hub's ``HistoryBuffer``); this one reads through :func:`.reading.read_checkpoint`
(the sidecar and the integrity record verified) and writes a new record for what it keeps."""
import os
import os.path as osp

import torch

from .integrity import add_record, sha256_of
from .reading import read_checkpoint

# the run's meta a user of the weights reads; the rest (message hub, loops' state) is training's
KEPT_META = ('cfg', 'seed', 'experiment_name', 'time', 'epoch', 'iter', 'mmengine_version',
             'dataset_meta')


def publish_checkpoint(src: str, out: str) -> str:
    """Write ``src``'s weights and meta to ``out`` renamed ``<stem>-<sha256[:8]>.pth``
    (mmseg's naming) and return that path. The file and its sidecar are written whole or not
    at all."""
    if not out.endswith('.pth'):
        raise ValueError(f'the published file {out!r} must end in .pth (mmseg names it '
                         '<name>-<sha256[:8]>.pth); give OUT as e.g. refiner.pth.')
    checkpoint = read_checkpoint(src)
    meta = {k: v for k, v in checkpoint.get('meta', {}).items() if k in KEPT_META}
    published = dict(meta=meta, state_dict=checkpoint['state_dict'])
    add_record(published, written_by=f'publish_checkpoint({osp.basename(src)})')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = out + '.part'
    torch.save(published, tmp)
    sha = sha256_of(tmp)
    final = f'{out[:-len(".pth")]}-{sha[:8]}.pth'
    with open(tmp + '.sha256', 'w') as f:
        f.write(f'{sha}  {osp.basename(final)}\n')
    os.replace(tmp + '.sha256', final + '.sha256')
    os.replace(tmp, final)
    return final
