"""The benchmarks' and studies' shared helpers (tools/analysis_tools/cost_lib,
tools/studies/study_lib; on pytest's path by setup.cfg): timing, ratios, the
verdict rules, the study results on disk, and the two-arm study's table."""
import json
import math
import os
import statistics
import subprocess
import sys

import pytest
import torch
from cost_lib import interleaved, ratio_stats, spread
from study_lib import (
    against_spread,
    finished_runs,
    fmt_mean_std,
    has_run,
    latest_test_metrics,
    mean_std,
    merge_earlier_runs,
    two_arm_study_table,
    verdict,
)

from mmseg_difnet.datasets import CamVidDataset


def test_verdict_rules_by_hand():
    a, b = [50.0, 52.0, 51.0], [48.0, 49.0, 47.0]
    v = verdict('unpaired', a, b)  # d = 51 - 48 = 3, margin 2·max(1, 1) = 2
    assert v == dict(mean=3.0, margin=2.0, verdict='positive')
    assert verdict('unpaired', b, a)['verdict'] == 'negative'
    d = [1.0, 2.0, 3.0]  # mean 2, std 1
    assert verdict('paired', d) == dict(mean=2.0, margin=2.0, verdict='null')  # not > 2
    se = verdict('paired_se', d)
    assert se['margin'] == pytest.approx(2 / math.sqrt(3)) and se['verdict'] == 'positive'
    assert verdict('paired_se', [-x for x in d])['verdict'] == 'negative'
    one = verdict('paired_se', [5.0])
    assert math.isnan(one['margin']) and one['verdict'] == 'null'
    with pytest.raises(ValueError, match="rule='median' is not one of"):
        verdict('median', d)
    with pytest.raises(ValueError, match='takes two arms'):
        verdict('unpaired', d)
    with pytest.raises(ValueError, match='takes one list of paired differences'):
        verdict('paired', d, d)


def test_against_spread_by_hand():
    earlier = [1.0, 2.0, 3.0]  # mean 2, sample std 1: within 0..4
    assert against_spread(5.0, earlier) == dict(value=5.0, low=0.0, high=4.0, reading='above')
    assert against_spread(4.0, earlier)['reading'] == 'within'  # the ends are within
    assert against_spread(0.0, earlier)['reading'] == 'within'
    assert against_spread(-0.5, earlier)['reading'] == 'below'
    with pytest.raises(ValueError, match=r'1 earlier value\(s\) \[2.0\] have no spread'):
        against_spread(1.0, [2.0])


def test_mean_std_and_ratios():
    assert mean_std([1.0, 3.0]) == dict(mean=2.0, std=math.sqrt(2))
    assert math.isnan(mean_std([4.0])['std'])
    assert fmt_mean_std([1.0, 3.0]) == '2.00 ± 1.41'
    r = ratio_stats([2.0, 3.0, 8.0], [1.0, 2.0, 2.0])  # ratios 2, 1.5, 4
    assert r == dict(median=2.0, min=1.5, max=4.0)
    assert spread(r) == '2.00× (1.50-4.00)'


def test_interleaved_alternates_and_warms_up():
    import time
    calls = []

    def call(name, seconds):
        calls.append(name)
        time.sleep(seconds)
    fns = {'a': lambda: call('a', 0.05), 'b': lambda: call('b', 0.0)}
    times = interleaved(fns, torch.device('cpu'), rounds=3, repeats=2)
    assert calls == ['a', 'b'] + (['a'] * 2 + ['b'] * 2) * 3  # warm-up, then per round
    assert {k: len(v) for k, v in times.items()} == {'a': 3, 'b': 3}
    # each entry is the time of one call, not of the round's repeats together
    assert all(0.05 <= t < 0.1 for t in times['a']) and max(times['b']) < 0.05


def _write_metrics(test_dir, stamp, metrics):
    os.makedirs(test_dir / stamp, exist_ok=True)
    (test_dir / stamp / f'{stamp}.json').write_text(json.dumps(metrics))


def test_study_results_on_disk(tmp_path):
    with pytest.raises(FileNotFoundError, match='no test metrics'):
        latest_test_metrics(str(tmp_path))
    _write_metrics(tmp_path / 'a_seed1' / 'test', '20260101_000000', dict(mIoU=1.0))
    _write_metrics(tmp_path / 'a_seed1' / 'test', '20260102_000000', dict(mIoU=2.0))
    assert latest_test_metrics(str(tmp_path / 'a_seed1' / 'test')) == dict(mIoU=2.0)
    _write_metrics(tmp_path / 'a_seed2' / 'test', '20260101_000000', dict(mIoU=9.0))
    (tmp_path / 'a_seed1' / 'done').touch()  # seed 2 is not finished
    runs = finished_runs(str(tmp_path), ['a'])
    assert runs == {'a': {'1': dict(mIoU=2.0)}}
    study = tmp_path / 'study.json'
    study.write_text(json.dumps(dict(runs={'a': {'1': dict(mIoU=-1.0), '7': dict(mIoU=7.0)}})))
    merged = merge_earlier_runs(runs, str(study))
    assert merged == {'a': {'1': dict(mIoU=2.0), '7': dict(mIoU=7.0)}}  # this dir's first
    assert has_run(str(study), 'a_seed7') and not has_run(str(study), 'a_seed2')
    assert not has_run(str(tmp_path / 'none.json'), 'a_seed7')


def _write_arm(study_dir, arm, miou, walks=False, extra=None):
    """Finished runs <arm>_seed<N> as the study scripts leave them: test metrics equal to
    ``miou[seed]`` (x and y1-y4 one below), ``done``; with ``walks``, a checkpoint whose μ_t,
    β_t are 0.5."""
    for seed, m in miou.items():
        d = study_dir / f'{arm}_seed{seed}'
        metrics = {k: m for k in ('mIoU', 'mIoU_band2', 'mIoU_band5', 'mIoU_band10',
                                  'mAcc', 'aAcc')}
        metrics.update({f'IoU.{c}': m for c in CamVidDataset.METAINFO['classes']})
        if walks:
            metrics.update({f'mIoU_{k}': m - 1 for k in ('x', 's', 'y1', 'y2', 'y3', 'y4')})
            metrics.update({f'mIoU_{k}_band2': m for k in ('x', 's', 'y1', 'y2', 'y3',
                                                           'y4', 'y5')})
            metrics['mIoU_y5'] = m
            state = {f'decode_head.walks.{t}.{p}_logit': torch.tensor(0.0)
                     for t in range(5) for p in ('mu', 'beta')}
            torch.save({'state_dict': state}, d.with_suffix('.pth'))
        metrics.update(extra or {})
        _write_metrics(d / 'test', '20260101_000000', metrics)
        (d / 'done').touch()
        if walks:
            (d / 'last_checkpoint').write_text(str(d.with_suffix('.pth')))


def test_two_arm_study_table_verdicts(tmp_path):
    """Three seeds of two arms on disk: the JSON's paired verdicts equal the rule computed here
    from the numbers."""
    base = {'3': 45.0, '4': 46.0, '5': 44.0}
    dif = {'3': 46.5, '4': 47.0, '5': 46.0}
    _write_arm(tmp_path, 'deeplabv2', base)
    _write_arm(tmp_path, 'difnet', dif, walks=True)
    out = tmp_path / 'study.json'
    text = two_arm_study_table(str(tmp_path), (('DeepLabV2', 'deeplabv2'), ('DifNet', 'difnet')),
                               'a criterion', str(out), paired=True, required=3)
    res = json.loads(out.read_text())
    diff = [dif[s] - base[s] for s in ('3', '4', '5')]  # 1.5, 1, 2
    two_se = 2 * statistics.stdev(diff) / math.sqrt(3)
    expected = 'positive' if statistics.mean(diff) > two_se else 'null'
    assert res['verdict']['mIoU'] == expected == 'positive'
    assert res['y5_minus_x'] == [1.0, 1.0, 1.0]
    assert res['difference']['mIoU'] == pytest.approx(diff)
    assert f'paired mIoU: mean {statistics.mean(diff):+.2f}, 2·SE {two_se:.2f}' in text
    assert res['runs']['difnet']['3']['walks']['mu'] == [0.5] * 5


def test_similarity_pilot_json(tmp_path):
    """tools/studies/similarity_table.py --pilot --json keeps each finished pilot's val
    metrics as tools/test.py wrote them; an unfinished one is left out."""
    sims = {f'sim_same_P{t}': 0.1 * t for t in range(1, 6)}
    for name, miou, done in (('paper_seed100', 46.9, True), ('psi16_seed100', 47.3, True),
                             ('temperature_seed100', 1.0, False)):
        _write_metrics(tmp_path / name / 'test', '20260101_000000',
                       dict(mIoU=miou, mIoU_x=miou - 1, **sims))
        if done:
            (tmp_path / name / 'done').touch()
    out = tmp_path / 'pilot.json'
    script = os.path.join(os.path.dirname(__file__), '..', 'tools', 'studies',
                          'similarity_table.py')
    proc = subprocess.run([sys.executable, script, str(tmp_path), '--pilot', '--json', str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    assert res['split'] == 'val' and sorted(res['runs']) == ['paper_seed100', 'psi16_seed100']
    assert res['runs']['psi16_seed100'] == dict(mIoU=47.3, mIoU_x=46.3, **sims)
    assert 'psi16_seed100 val mIoU 47.3 x 46.3' in proc.stdout
