"""Test a segmentor: mmseg's tools/test.py, plus what DifNet's configs need on any machine.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR] [--show-dir DIR] [--tta]
    tools/test.sh CONFIG CHECKPOINT GPUS [...]
"""
import argparse
import os
import os.path as osp

from mmengine.runner import Runner
from mmseg.registry import RUNNERS

from mmseg_difnet.utils import CfgOptionsAction, check_data_roots, load_config, prepare_for_device


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--out', help='the dir to save the predictions')
    parser.add_argument('--show-dir', help='the dir to save painted predictions')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation')
    parser.add_argument('--per-walk', action='store_true',
                        help='DifNet: also the mIoU of the score map x, the seed s and every '
                        'walk output y_t (= --cfg-options model.test_cfg.per_walk=True)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override settings of the config, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def per_walk(cfg) -> None:
    """--per-walk: the model's per-stage predictions (``model.test_cfg.per_walk``), scored by
    ``PerWalkIoUMetric``; mmseg's ``IoUMetric`` (every zoo config's) becomes it, with its
    arguments. A model without walks, or another metric, is an error that says so."""
    model = cfg.model  # the segmentor: --tta wraps it later
    if model.get('type') != 'DifNetEncoderDecoder':
        raise SystemExit(
            f"test.py: --per-walk needs a model with diffusion (model.type="
            f"'DifNetEncoderDecoder'); this config's model is {model.get('type')!r}, which has "
            'no walks. Drop --per-walk, or give the config with diffusion.')
    model.setdefault('test_cfg', {})['per_walk'] = True
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [
        cfg.test_evaluator]
    for ev in evaluators:
        if ev.get('type') in ('IoUMetric', 'mmseg.IoUMetric'):
            print(f"test.py: --per-walk: test_evaluator {ev['type']} -> PerWalkIoUMetric (the "
                  'same metric, plus a row per stage x, s, y1..yT)', flush=True)
            ev['type'] = 'PerWalkIoUMetric'
    if not any(ev.get('type') == 'PerWalkIoUMetric' for ev in evaluators):
        raise SystemExit(
            f'test.py: --per-walk scores every stage with PerWalkIoUMetric (or IoUMetric, '
            f"which it replaces), but test_evaluator is {[ev.get('type') for ev in evaluators]}"
            ": add dict(type='PerWalkIoUMetric', iou_metrics=['mIoU']) to test_evaluator, or "
            'drop --per-walk.')


def main():
    args = parse_args()
    cfg = load_config(args.config, args.launcher, args.cfg_options, args.work_dir)
    cfg.load_from = args.checkpoint
    if args.per_walk:
        per_walk(cfg)
    if args.show_dir:
        hook = cfg.default_hooks.visualization
        hook.update(draw=True, show=False)
        cfg.visualizer.save_dir = args.show_dir
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        cfg.test_evaluator.update(output_dir=args.out, keep_results=True)
    check_data_roots(cfg, keys=('test_dataloader',))
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} (the CHECKPOINT argument) '
                                'does not exist.')
    prepare_for_device(cfg, args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.test()


if __name__ == '__main__':
    main()
