"""Train a segmentor: mmseg's tools/train.py, plus what DifNet's configs need on any machine.

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp] [--diagnose N]
                          [--cfg-options k=v ...]
    tools/train.sh CONFIG GPUS [...]   # torchrun, one or several nodes
"""
import argparse
import logging
import os
import sys

from mmengine.logging import print_log
from mmengine.runner import Runner
from mmseg.registry import RUNNERS

from mmseg_difnet.utils import CfgOptionsAction, check_data_roots, load_config, prepare_for_device


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the newest valid checkpoint in the work_dir')
    parser.add_argument('--amp', action='store_true', help='mixed-precision training')
    parser.add_argument('--diagnose', type=int, metavar='N',
                        help='every N iterations, record why the walks learn (or not) in '
                        '<work_dir>/walk_diagnostics.jsonl (WalkDiagnosticsHook); summarise '
                        'with tools/analysis_tools/walk_diagnostics.py')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override settings of the config, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    cfg = load_config(args.config, args.launcher, args.cfg_options, args.work_dir)
    if args.amp:
        if cfg.optim_wrapper.type == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in the config.', logger='current',
                      level=logging.WARNING)
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.resume and cfg.get('load_from'):
        raise ValueError(
            f'--resume continues this work dir ({cfg.work_dir}) from its newest valid '
            f'checkpoint, but the config also sets load_from={cfg.load_from!r} (another '
            'run\'s weights). Use one: drop --resume to start a new run from load_from, or '
            'add --cfg-options load_from=None to resume this work dir.')
    cfg.resume = args.resume
    if args.diagnose is not None:
        cfg.custom_hooks = [*(cfg.get('custom_hooks') or []),
                            dict(type='WalkDiagnosticsHook', interval=args.diagnose)]
    check_data_roots(cfg)
    prepare_for_device(cfg, args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    signum = getattr(runner, 'stopped_by_signal', None)
    if signum:  # preempted: the checkpoint is saved; a scheduler sees the signal's status
        sys.exit(128 + signum)


if __name__ == '__main__':
    main()
