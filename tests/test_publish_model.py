"""tools/misc/publish_model.py: a run's checkpoint made ready to share (mmseg's naming), readable
by torch's default weights-only loader, and refused when the source is corrupt."""
import hashlib
import os.path as osp
import subprocess
import sys

import pytest
import torch
from helpers import ROOT
from mmengine.logging import HistoryBuffer

from mmseg_difnet.checkpoint import publish_checkpoint
from mmseg_difnet.checkpoint.integrity import add_record


def mmengine_like_checkpoint(path, weight):
    buf = HistoryBuffer()
    buf.update(0.83)
    ckpt = {'meta': {'seed': 0, 'iter': 1000, 'cfg': "model = dict(type='AffinityRefiner')",
                     'mmengine_version': '0.10.7'},
            'state_dict': {'w': weight, 'b': torch.zeros(2)},
            'message_hub': {'log_scalars': {'loss': buf}},
            'optimizer': {'state': {0: {'momentum_buffer': torch.ones(3)}}}}
    add_record(ckpt, written_by='test')
    torch.save(ckpt, path)
    return ckpt


def test_publish_model_keeps_weights_and_meta_and_names_the_file_by_its_hash(tmp_path):
    src = tmp_path / 'iter_1000.pth'
    mmengine_like_checkpoint(src, torch.arange(3.))
    with pytest.raises(Exception, match='HistoryBuffer'):  # why mmseg's tool fails on torch>=2.6
        torch.load(src)
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'misc', 'publish_model.py'),
                           str(src), str(tmp_path / 'out' / 'refiner.pth')],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    final = proc.stdout.strip().splitlines()[-1]
    sha = hashlib.sha256(open(final, 'rb').read()).hexdigest()
    assert final == str(tmp_path / 'out' / f'refiner-{sha[:8]}.pth')
    assert open(final + '.sha256').read() == f'{sha}  refiner-{sha[:8]}.pth\n'
    published = torch.load(final)  # torch's default (weights-only) loader, no allowlist
    assert set(published) == {'meta', 'state_dict'}
    assert published['state_dict']['w'].tolist() == [0., 1., 2.]
    assert published['meta']['seed'] == 0 and published['meta']['iter'] == 1000
    assert published['meta']['integrity']['written_by'] == 'publish_checkpoint(iter_1000.pth)'
    assert not (tmp_path / 'out' / 'refiner.pth.part').exists()


def test_publish_model_refuses_a_corrupt_source_and_a_bad_name(tmp_path):
    src = tmp_path / 'iter_1000.pth'
    ckpt = mmengine_like_checkpoint(src, torch.arange(3.))
    ckpt['state_dict']['w'][0] = 7.  # bytes changed after the record was written
    torch.save(ckpt, src)
    with pytest.raises(ValueError, match=r"iter_1000.pth' is corrupt"):
        publish_checkpoint(str(src), str(tmp_path / 'refiner.pth'))
    with pytest.raises(ValueError, match=r"'.*refiner.ckpt' must end in .pth"):
        publish_checkpoint(str(src), str(tmp_path / 'refiner.ckpt'))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['iter_1000.pth']
