# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The results of a study's runs, as ``tools/studies/*.sh`` leave them: one work dir
``<arm>_seed<N>`` per run, with ``done`` when trained and tested, the test metrics that
``tools/test.py`` wrote under ``test/``, and the study's JSON, which keeps the runs finished in
earlier sessions (``tools/studies/study_has_run.py`` asks it for the study scripts).
"""
import glob
import json
import os.path as osp
from typing import Dict, Iterable, Optional

from mmseg_difnet.checkpoint import walk_params_from_checkpoint

Runs = Dict[str, Dict[str, Dict]]  # {arm: {seed: metrics}}


def latest_test_metrics(test_dir: str) -> Dict[str, float]:
    """The metrics of the newest ``<timestamp>/<timestamp>.json`` under ``test_dir``."""
    files = sorted(f for f in glob.glob(osp.join(test_dir, '*', '*.json'))
                   if osp.basename(osp.dirname(f)) == osp.splitext(osp.basename(f))[0])
    if not files:
        raise FileNotFoundError(f'no test metrics (<timestamp>/<timestamp>.json) under '
                                f'{test_dir!r}: did the test run finish?')
    with open(files[-1]) as f:
        return json.load(f)


def finished_runs(study_dir: str, arms: Iterable[str], with_walks: Iterable[str] = ()
                  ) -> Runs:
    """Test metrics of every finished ``<arm>_seed<N>`` run under ``study_dir``; for the arms
    of ``with_walks`` also μ_t, β_t of the run's last checkpoint, as ``walks``."""
    with_walks = set(with_walks)
    runs: Runs = {}
    for arm in arms:
        for d in sorted(glob.glob(osp.join(study_dir, f'{arm}_seed*'))):
            if not osp.isfile(osp.join(d, 'done')):
                continue
            res = latest_test_metrics(osp.join(d, 'test'))
            if arm in with_walks:
                with open(osp.join(d, 'last_checkpoint')) as f:
                    res['walks'] = walk_params_from_checkpoint(f.read().strip())
            runs.setdefault(arm, {})[d.rsplit('_seed', 1)[1]] = res
    return runs


def merge_earlier_runs(runs: Runs, json_path: Optional[str]) -> Runs:
    """``runs`` with the runs of the study's JSON that it lacks (finished in earlier
    sessions, elsewhere): a study that spans sessions keeps every finished run."""
    if json_path and osp.isfile(json_path):
        with open(json_path) as f:
            for arm, by_seed in json.load(f).get('runs', {}).items():
                for seed, res in by_seed.items():
                    runs.setdefault(arm, {}).setdefault(seed, res)
    return runs


def has_run(json_path: str, name: str) -> bool:
    """Whether the study's JSON holds the run ``<arm>_seed<N>``."""
    if not osp.isfile(json_path):
        return False
    arm, seed = name.rsplit('_seed', 1)
    with open(json_path) as f:
        return seed in json.load(f).get('runs', {}).get(arm, {})
