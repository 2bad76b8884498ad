"""tools/misc/gpu_check.sh, the GPU checks in one script, run end to end on the CPU in
its dry-run mode (tiny sizes, the existing environment), so that it cannot rot before a GPU
is lent."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from helpers import ROOT, generate_camvid_like


def tiny_pack(tmp_path):
    """A CamVid-like set of 48×64 frames packed as the device gets CamVid (JPEG frames)."""
    generate_camvid_like(str(tmp_path / 'camvid'), counts=(('train', 4), ('test', 2)))
    subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'misc', 'pack_camvid.py'), '--root',
                    str(tmp_path / 'camvid'), '--out', str(tmp_path / 'pack')], check=True)
    return str(tmp_path / 'pack')


@pytest.mark.slow
def test_the_gpu_check_runs_end_to_end_in_its_dry_run(tmp_path):
    out = tmp_path / 'out'
    env = dict(os.environ, OUT=str(out), PYTHON=sys.executable, OMP_NUM_THREADS='1',
               PACK=tiny_pack(tmp_path))
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'misc', 'gpu_check.sh'), '--dry-run'],
                          env=env, capture_output=True, text=True, timeout=1500)
    log = (out / 'gpu_check.log').read_text() if (out / 'gpu_check.log').exists() else ''
    assert proc.returncode == 0, proc.stdout[-2000:] + log[-3000:]
    steps = dict(line.split(' ', 1) for line in (out / 'steps.txt').read_text().splitlines())
    assert list(steps) == ['env', 'study', 'compiled_fp32', 'parity', 'table4_fp32_concurrent',
                           'table4_fp32', 'diffusion', 'cuda_tests', 'table4_bf16',
                           'table4_bf16_concurrent', 'report']  # by priority: what a short
    # lease must measure first
    assert all(v.startswith('rc=0 ') for v in steps.values()), steps
    assert len(os.listdir(out)) <= 8  # what the device tool brings back
    study = json.loads((out / 'gpu_study.json').read_text())  # the GPU study, tiny
    assert study['iters'] == 3 and set(study['runs']) == {
        'deeplabv2_seed0', 'difnet_seed0', 'deeplabv2_seed1', 'difnet_seed1'}
    assert len(study['paired']['mIoU']['per_seed']) == 2
    assert all('mIoU_y5' in study['runs'][f'difnet_seed{s}'] for s in (0, 1))
    assert '| difnet_seed1 |' in (out / 'gpu_study.md').read_text()
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
    comp = parts['compiled_fp32']['compiled']  # torch.compile of both models, checked
    assert all(p['argmax_agreement'] > 0.99 for p in comp['parity'].values())
    assert comp['ratio_compiled']['median'] > 0 and 'Table 4 compiled' in (
        out / 'gpu_check.md').read_text()


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
    assert len(steps) == 10 and all(v.startswith('rc=skipped ') for v in steps.values()), steps
    assert proc.returncode == 1  # a skipped step is not a pass
    targets = json.loads((out / 'gpu_check.json').read_text())['targets']
    assert [t['met'] for t in targets] == [None] * 4


def test_steps_runs_a_subset(tmp_path):
    proc, steps, out = dry_run(tmp_path, STEPS='parity')
    assert proc.returncode == 0, proc.stdout
    assert list(steps) == ['env', 'parity', 'report']
    parts = json.loads((out / 'gpu_check.json').read_text())['parts']
    assert list(parts) == ['parity']
