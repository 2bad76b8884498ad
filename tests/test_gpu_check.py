"""tools/misc/gpu_check.sh, the GPU checks in one script (issue 31), run end to end on the CPU in
its dry-run mode (tiny sizes, the existing environment), so that it cannot rot before a GPU
is lent."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from helpers import ROOT


@pytest.mark.slow
def test_the_gpu_check_runs_end_to_end_in_its_dry_run(tmp_path):
    out = tmp_path / 'out'
    env = dict(os.environ, OUT=str(out), PYTHON=sys.executable, OMP_NUM_THREADS='1')
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'misc', 'gpu_check.sh'), '--dry-run'],
                          env=env, capture_output=True, text=True, timeout=900)
    log = (out / 'gpu_check.log').read_text() if (out / 'gpu_check.log').exists() else ''
    assert proc.returncode == 0, proc.stdout[-2000:] + log[-3000:]
    steps = dict(line.split(' ', 1) for line in (out / 'steps.txt').read_text().splitlines())
    assert list(steps) == ['env', 'parity', 'table4_fp32_concurrent', 'table4_fp32',
                           'diffusion', 'cuda_tests', 'table4_bf16', 'table4_bf16_concurrent',
                           'report']  # by priority: what a short lease must measure first
    assert all(v.startswith('rc=0 ') for v in steps.values()), steps
    assert len(os.listdir(out)) <= 8  # what the device tool brings back
    results = json.loads((out / 'gpu_check.json').read_text())
    parts = results['parts']
    assert all(c['passed'] for c in parts['parity']['cases'])
    assert [c['dtype'] for c in parts['parity']['cases']] == ['float32', 'bfloat16']
    assert parts['table4_bf16']['dtype'] == 'bf16' and parts['table4_bf16']['amp']
    assert parts['table4_fp32_concurrent']['concurrent_branches']
    assert 'train_step' not in parts['table4_fp32_concurrent']  # once per precision
    assert parts['table4_fp32']['train_step']['batch'] == 1
    assert {r['N'] for r in parts['diffusion']['diffusion']} == {64}
    targets = {t['name']: t for t in results['targets']}
    assert targets['training peak memory']['met'] is None  # CUDA only
    for name in ('inference, concurrent branches', 'diffusion share', 'training step'):
        assert targets[name]['value'] > 0 and targets[name]['met'] in (True, False)
    md = (out / 'gpu_check.md').read_text()
    assert '| training-step ratio DifNet-50 / DeepLabV2-101 |' in md and 'SDPA ops' in md


def dry_run(tmp_path, **env):
    out = tmp_path / 'out'
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'misc', 'gpu_check.sh'), '--dry-run'],
                          env=dict(os.environ, OUT=str(out), PYTHON=sys.executable, **env),
                          capture_output=True, text=True, timeout=300)
    steps = dict(line.split(' ', 1) for line in (out / 'steps.txt').read_text().splitlines())
    return proc, steps, out


def test_a_spent_budget_skips_the_steps_and_still_reports(tmp_path):
    # 20 s, less than the 30 s kept for the report: every step is skipped, the report runs
    proc, steps, out = dry_run(tmp_path, BUDGET='20')
    assert list(steps)[-1] == 'report' and steps.pop('report').startswith('rc=0 ')
    assert len(steps) == 8 and all(v.startswith('rc=skipped ') for v in steps.values()), steps
    assert proc.returncode == 1  # a skipped step is not a pass
    targets = json.loads((out / 'gpu_check.json').read_text())['targets']
    assert [t['met'] for t in targets] == [None] * 4


def test_steps_runs_a_subset(tmp_path):
    proc, steps, out = dry_run(tmp_path, STEPS='parity')
    assert proc.returncode == 0, proc.stdout
    assert list(steps) == ['env', 'parity', 'report']
    parts = json.loads((out / 'gpu_check.json').read_text())['parts']
    assert list(parts) == ['parity']
