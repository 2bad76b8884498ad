"""The CamVid comparison at a GPU schedule (design and criterion in
docs/studies/camvid_gpu.md, fixed before any GPU number): DeepLabV2-MV2 and DifNet-MV2 for
three training seeds on the packed CamVid (tools/misc/pack_camvid.py), every run at once on
the one GPU, the schedule sized from a timed first stretch of iterations so that training
fits ``--train-seconds``; then each run tested on the 233 test frames at 480×360 (per walk and
near boundaries), and the paired verdict.

    python tools/studies/camvid_gpu_study.py --out OUT --train-seconds 300   # on the device
    python tools/studies/camvid_gpu_study.py --out OUT --dry-run             # here: tiny, CPU

Writes OUT/gpu_study.json and OUT/gpu_study.md; the runs' logs stay in OUT/work (not
returned by the device tool).
"""
import argparse
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time

from study_lib import latest_test_metrics, verdict

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(deeplabv2='configs/difnet/deeplabv2_mv2-d8_camvid-480x360_gpu.py',
               difnet='configs/difnet/difnet_mv2-d8_camvid-480x360_gpu.py')
BATCH = 16  # the schedule base's batch (camvid_gpu_study.py)
CPU_SAMPLES = 2000 * 4  # the CPU similarity study's run: 2,000 iterations of batch 4
MIN_SAMPLES = 10 * 4000  # ten times the CPU paired study's (1,000 × 4)
CRITERION = (
    'Fixed before any GPU run (docs/studies/camvid_gpu.md). For each training seed the paired '
    'difference d = DifNet-MV2 - DeepLabV2-MV2 (same seed, same data order): DifNet-MV2 beats '
    'DeepLabV2-MV2 if mean d in test mIoU exceeds twice its standard error (sample std / '
    'sqrt(n)); the same for the mIoU within 2 px of a boundary; the walks help if y5 - x '
    'exceeds 2 SE. The same margin the other way is negative; anything else is null.')


def _run(name, arm, seed, work, pack, iters, extra=(), dry_run=False):
    if dry_run:  # no ImageNet weights needed: the tiny runs start from random weights
        extra = [*extra, 'model.backbone.init_cfg=None',
                 *(['model.neck.backbone.init_cfg=None'] if arm != 'deeplabv2' else [])]
    opts = [f'randomness.seed={seed}', f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters}', f'param_scheduler.0.end={iters}',
            f'train_dataloader.dataset.data_root={pack}',
            f'test_dataloader.dataset.data_root={pack}', *extra]
    log = open(osp.join(work, f'{name}.train.log'), 'w')
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), CONFIGS[arm],
           '--work-dir', osp.join(work, name), '--cfg-options', *opts]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def _wait(procs, what):
    failed = [n for n, p in procs.items() if p.wait() != 0]
    if failed:
        raise SystemExit(f'camvid_gpu_study: {what} failed for {failed}: see their logs')


def _seconds_per_iter(log_path):
    """Mean logged ``time`` per iteration after the first logged line (start-up)."""
    times = [float(t) for t in re.findall(r'Iter\(train\).*?\stime: ([0-9.]+)',
                                          open(log_path).read())]
    if not times:
        raise SystemExit(f'camvid_gpu_study: no timed iteration in {log_path}')
    return statistics.mean(times[1:] or times)


def _paired(d):
    v = verdict('paired_se', d)
    return dict(per_seed=d, mean=v['mean'], two_se=v['margin'], verdict=v['verdict'])


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', required=True, help='gpu_study.json and gpu_study.md')
    p.add_argument('--work', help='the runs\' work dirs and logs (default OUT/work)')
    p.add_argument('--pack', default='.camvid_pack')
    p.add_argument('--arms', nargs='+', default=['deeplabv2', 'difnet'])
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--train-seconds', type=float, default=300,
                   help='wall time for training all runs at once')
    p.add_argument('--calib-iters', type=int, default=60)
    p.add_argument('--max-iters', type=int, default=100000)
    p.add_argument('--dry-run', action='store_true',
                   help='this CPU, a tiny pack: 2 calibration and 3 training iterations, '
                   'the test frames of the pack')
    args = p.parse_args()
    work = args.work or osp.join(args.out, 'work')
    os.makedirs(work, exist_ok=True)
    extra = ['train_dataloader.num_workers=2', 'default_hooks.logger.interval=10']
    if args.dry_run:
        args.calib_iters, args.max_iters = 2, 3
        extra = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                 'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
                 'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    runs = [(f'{arm}_seed{s}', arm, s) for s in args.seeds for arm in args.arms]
    t0 = time.time()
    # 1. the schedule: every run at once for a short stretch, timed as the study will run
    calib = {n: _run(f'calib_{n}', a, s, work, args.pack, args.calib_iters, extra,
                     args.dry_run) for n, a, s in runs}
    _wait(calib, 'calibration')
    per_iter = max(_seconds_per_iter(osp.join(work, f'calib_{n}.train.log')) for n, _, _ in runs)
    iters = max(1, min(args.max_iters, int(args.train_seconds / per_iter)))
    batch = 2 if args.dry_run else BATCH
    print(f'calibration: {per_iter:.3f} s per iteration (slowest run, all {len(runs)} at once) '
          f'-> {iters} iterations of batch {batch} = {iters * batch:,} crops a run '
          f'({iters * batch / CPU_SAMPLES:.1f}× the CPU study\'s)', flush=True)
    # 2. train, all at once; 3. test, all at once
    t1 = time.time()
    _wait({n: _run(n, a, s, work, args.pack, iters, extra, args.dry_run) for n, a, s in runs},
          'training')
    t2 = time.time()
    tests = {}
    for n, a, s in runs:
        ckpt = open(osp.join(work, n, 'last_checkpoint')).read().strip()
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'test.py'), CONFIGS[a], ckpt,
               '--work-dir', osp.join(work, n, 'test'),
               *(['--per-walk'] if a != 'deeplabv2' else []),
               '--cfg-options', f'test_dataloader.dataset.data_root={args.pack}',
               *[e for e in extra if e.startswith('test_')]]
        tests[n] = subprocess.Popen(cmd, cwd=ROOT, stdout=open(osp.join(work, f'{n}.test.log'),
                                                              'w'), stderr=subprocess.STDOUT)
    _wait(tests, 'testing')
    t3 = time.time()
    res = {n: latest_test_metrics(osp.join(work, n, 'test')) for n, _, _ in runs}
    out = dict(criterion=CRITERION, iters=iters, batch=batch, crops_per_run=iters * batch,
               crops_vs_cpu_study=iters * batch / CPU_SAMPLES,
               meets_ten_times=iters * batch >= MIN_SAMPLES,
               seconds_per_iter_calibration=per_iter,
               seconds=dict(calibration=t1 - t0, training=t2 - t1, testing=t3 - t2),
               runs=res, dry_run=args.dry_run)
    rows = [f'{iters} iterations of batch {batch} ({iters * batch:,} crops a run), '
            f'training {t2 - t1:.0f} s, testing {t3 - t2:.0f} s', '',
            '| run | mIoU | mIoU ≤2 px | mIoU x | mIoU y5 | aAcc |',
            '|---|---:|---:|---:|---:|---:|']
    for n, _, _ in runs:
        m = res[n]
        rows.append(f'| {n} | {m["mIoU"]:.2f} | {m.get("mIoU_band2", float("nan")):.2f} | '
                    f'{m.get("mIoU_x", float("nan")):.2f} | {m.get("mIoU_y5", float("nan")):.2f}'
                    f' | {m["aAcc"]:.2f} |')
    if {'deeplabv2', 'difnet'} <= set(args.arms):
        pairs = {}
        for key in ('mIoU', 'mIoU_band2'):
            pairs[key] = _paired([res[f'difnet_seed{s}'][key] - res[f'deeplabv2_seed{s}'][key]
                                  for s in args.seeds])
        pairs['y5_minus_x'] = _paired([res[f'difnet_seed{s}']['mIoU_y5']
                                       - res[f'difnet_seed{s}']['mIoU_x'] for s in args.seeds])
        out['paired'] = pairs
        rows += [''] + [f'{k}: per seed {", ".join(f"{v:+.2f}" for v in r["per_seed"])}; mean '
                        f'{r["mean"]:+.2f}, 2·SE {r["two_se"]:.2f}: {r["verdict"]}'
                        for k, r in pairs.items()]
    json.dump(out, open(osp.join(args.out, 'gpu_study.json'), 'w'), indent=2)
    open(osp.join(args.out, 'gpu_study.md'), 'w').write('\n'.join(rows) + '\n')
    print('\n'.join(rows))


if __name__ == '__main__':
    main()
