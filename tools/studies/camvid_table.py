"""Tables and JSON of the CamVid study (tools/studies/camvid_study.sh), from the metrics
tools/test.py
wrote for each run, with the verdict of the criterion stated before the runs.

    python tools/studies/camvid_table.py work_dirs/camvid_study
        [--json benchmarks/camvid_study.json]
"""
import argparse
import json
import os.path as osp

from study_lib import two_arm_study_table

MODELS = (('DeepLabV2-MV2 (Sim-Deeplab)', 'deeplabv2'), ('DifNet-MV2', 'difnet'))
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FIRST_STUDY = osp.join(ROOT, 'benchmarks', 'camvid_study.json')
CRITERION = (
    'Fixed before the runs. Over 3 training seeds: (1) DifNet-MV2 beats DeepLabV2-MV2 if its '
    'mean test mIoU is higher by more than twice the larger of the two sample stds; (2) the '
    "paper's boundary claim holds if the same rule holds for the mIoU within 2 px of a label "
    'boundary (band2); (3) inside DifNet the walks help if y5 - x (mIoU of the output minus '
    'that of the score map) is positive by more than twice its std over seeds. A difference '
    'in the other direction by the same margin is a negative result; anything else is null.')


CRITERION_PAIRED = (
    'Fixed before the runs (docs/studies/camvid.md, "Round two"). Training seeds 3 '
    'to 8, the first study\'s design otherwise; for each seed the paired difference d = '
    'DifNet-MV2 - DeepLabV2-MV2 (same seed: same data order and seed-branch start). (1) '
    'DifNet-MV2 beats DeepLabV2-MV2 if the mean d in test mIoU exceeds twice its standard '
    'error (sample std / sqrt(6)); (2) the boundary claim holds if the same holds for the '
    'mIoU within 2 px of a label boundary; (3) the walks help if y5 - x (DifNet-MV2) exceeds '
    'twice its standard error. The same margin the other way is a negative result; anything '
    'else is null. The first study\'s three pairs are reported beside it, not pooled.')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('study_dir', help='the study dir (<model>_seed<N>/ run dirs)')
    parser.add_argument('--json', help='write the numbers here')
    parser.add_argument('--seconds', type=int, help='wall time of the study, to record')
    parser.add_argument('--paired', action='store_true',
                        help='round two: the paired criterion (mean difference vs 2 SE)')
    args = parser.parse_args()
    if args.paired:  # the design's six pairs (seeds 3-8); the first study's beside them
        with open(FIRST_STUDY) as f:
            first = json.load(f)
        first = dict(seeds=first['seeds'], difference=first['difference'],
                     y5_minus_x=first['y5_minus_x'])
        print(two_arm_study_table(args.study_dir, MODELS, CRITERION_PAIRED, args.json,
                                  args.seconds, extra=dict(first_study=first), paired=True,
                                  required=6))
        print(f'first study (benchmarks/camvid_study.json, seeds {", ".join(first["seeds"])}, '
              'not pooled): '
              'DifNet - DeepLabV2 per seed: mIoU ' + ', '.join(
                  f'{v:+.2f}' for v in first['difference']['mIoU']) + '; ≤2 px ' + ', '.join(
                  f'{v:+.2f}' for v in first['difference']['mIoU_band2']) + '; y5 - x '
              + ', '.join(f'{v:+.2f}' for v in first['y5_minus_x']))
    else:
        print(two_arm_study_table(args.study_dir, MODELS, CRITERION, args.json, args.seconds))


if __name__ == '__main__':
    main()
