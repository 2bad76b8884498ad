"""Importing the plugin registers its modules and changes nothing else: mmseg's pipeline,
mmengine's checkpoint loaders and torch's weights-only allowlist are as without it; the
package's own loading (checked_loading, CheckedLoadingHook) switches its checks on for a
block and puts everything back."""
import json
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# Builds mmseg's own pipeline on a JPEG and loads a plain mmengine checkpoint (message hub and
# all, as mmengine's Runner writes) through mmengine's loader; prints what the process holds.
PROBE = r'''
import io, json, sys, contextlib
import cv2, numpy as np, torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint
from mmseg.registry import TRANSFORMS
from mmengine.registry import init_default_scope
init_default_scope('mmseg')
import importlib
for name in json.load(open(sys.argv[4])):  # what the plugin imports, imported in both modes
    try:
        importlib.import_module(name)
    except Exception:
        pass
if sys.argv[1] == 'import':
    import mmseg_difnet  # noqa: F401
img, ckpt = sys.argv[2], sys.argv[3]
pipe = [TRANSFORMS.build(t) for t in (dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(64, 48), keep_ratio=False), dict(type='PackSegInputs'))]
r = {'img_path': img}
for t in pipe:
    r = t(r)
def name(g):  # a global's dotted name (str() of a function holds its address)
    g, alias = g if isinstance(g, tuple) else (g, '')
    return f'{getattr(g, "__module__", "")}.{getattr(g, "__qualname__", g)} {alias}'
err = io.StringIO()
with contextlib.redirect_stderr(err):
    try:
        loaded = sorted(_load_checkpoint(ckpt, map_location='cpu'))
    except Exception as e:
        loaded = type(e).__name__
print(json.dumps(dict(
    pixels=r['inputs'].float().sum().item(),
    transform=TRANSFORMS.get('LoadImageFromFile').__module__,
    loaders={k: f'{v.__module__}.{v.__name__}' for k, v in CheckpointLoader._schemes.items()},
    safe_globals=sorted(name(g) for g in torch.serialization.get_safe_globals()),
    loaded=loaded, stderr=err.getvalue())))
'''


@pytest.fixture(scope='module')
def probe_files(tmp_path_factory):
    import cv2
    import numpy as np
    import torch
    from mmengine.logging import HistoryBuffer
    d = tmp_path_factory.mktemp('probe')
    g = np.random.default_rng(0)
    cv2.imwrite(str(d / 'a.jpg'), g.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    buf = HistoryBuffer()
    buf.update(1.0)
    torch.save({'state_dict': {'w': torch.ones(2)}, 'meta': {},
                'message_hub': {'log_scalars': {'train/loss': buf}}}, d / 'plain.pth')
    return str(d / 'a.jpg'), str(d / 'plain.pth')


@pytest.fixture(scope='module')
def dependencies(tmp_path_factory):
    """Every module importing the plugin loads, but its own: imported by both probes, so that
    what they differ in is the plugin's own doing (importing torch.distributed.tensor, for
    one, adds DTensor to torch's allowlist, plugin or not)."""
    code = ('import json, sys; import mmseg_difnet; print(json.dumps(sorted(m for m in '
            'sys.modules if not m.startswith("mmseg_difnet"))))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=300, cwd=ROOT, check=True).stdout
    path = tmp_path_factory.mktemp('deps') / 'modules.json'
    path.write_text(out.strip().splitlines()[-1])
    return str(path)


def _probe(mode, files, dependencies):
    proc = subprocess.run([sys.executable, '-c', PROBE, mode, *files, dependencies],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_plugin_changes_nothing_of_mmseg_mmengine_or_torch(probe_files,
                                                                          dependencies):
    without = _probe('plain', probe_files, dependencies)
    with_ = _probe('import', probe_files, dependencies)
    assert with_ == without
    assert without['transform'].startswith('mmcv.')  # mmcv's class, in mmseg's pipeline
    assert without['loaders'][''] == 'mmengine.runner.checkpoint.load_from_local'
    assert not any('mmengine' in g or 'numpy' in g for g in without['safe_globals'])
    # torch's own weights-only default refuses mmengine's message hub, plugin or not
    assert without['loaded'] == 'UnpicklingError'


def test_the_package_registers_under_its_own_names():
    from mmseg.registry import HOOKS, TRANSFORMS

    import mmseg_difnet
    assert TRANSFORMS.get('LoadImageChecked') is mmseg_difnet.LoadImageChecked
    assert TRANSFORMS.get('LoadImageFromFile') is not mmseg_difnet.LoadImageChecked
    assert HOOKS.get('CheckedLoadingHook').__module__.startswith('mmseg_difnet.')


def test_checked_loading_is_a_block_and_puts_everything_back(probe_files):
    import torch
    from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

    from mmseg_difnet.checkpoint import checked_loading
    from mmseg_difnet.checkpoint.integrity import load_from_local
    before = dict(CheckpointLoader._schemes)
    # torch keeps its allowlist in a set and lists it in the set's order, which a copy may
    # change (CI saw the same members in another order): compare the members
    globals_before = set(torch.serialization.get_safe_globals())
    with checked_loading():
        assert CheckpointLoader._schemes[''] is load_from_local
        with checked_loading():  # re-entrant: the inner block leaves the outer's tables
            pass
        assert CheckpointLoader._schemes[''] is load_from_local
        ckpt = _load_checkpoint(probe_files[1], map_location='cpu')
        assert ckpt['message_hub']['log_scalars']['train/loss'].current() == 1.0
    assert dict(CheckpointLoader._schemes) == before
    assert set(torch.serialization.get_safe_globals()) == globals_before
    assert len(torch.serialization.get_safe_globals()) == len(globals_before)
    with pytest.raises(Exception, match='Weights only load failed'):
        _load_checkpoint(probe_files[1], map_location='cpu')


def test_checked_loading_hook_spans_one_run_of_mmengines_plain_runner(probe_files, tmp_path):
    """mim test builds mmengine's plain Runner: the hook from the configs' default_hooks loads
    this package's checkpoints there, and the loaders are mmengine's again after the run."""
    from mmengine.runner.checkpoint import CheckpointLoader

    from mmseg_difnet.checkpoint.integrity import load_from_local
    from mmseg_difnet.engine import CheckedLoadingHook
    hook, seen = CheckedLoadingHook(), []
    hook.before_run(None)
    seen.append(CheckpointLoader._schemes[''])
    hook.after_run(None)
    assert seen == [load_from_local]
    assert CheckpointLoader._schemes[''] is not load_from_local
