"""Tables and JSON of the refinement study (tools/studies/refine_study.sh): DeepLabV3+-MV2 continued
with and without diffusion from one trained plain model, with the verdict of the criterion
stated before the runs (docs/diffusion_for_any_model.md).

    python tools/studies/refine_table.py work_dirs/refine_study
        [--json benchmarks/refine_study.json]
    python tools/studies/refine_table.py work_dirs/refine_study --round 2 [--json FILE]  # or 3
"""
import argparse
import glob
import os.path as osp
import statistics

from study_lib import finished_runs, latest_test_metrics, two_arm_study_table

from mmseg_difnet.diagnostics import RECORDS_FILE, load_records

MODELS = (('DeepLabV3+-MV2, continued', 'plain'),
          ('DeepLabV3+-MV2 + diffusion (shared)', 'diffusion'))
CRITERION = (
    'Fixed before the runs. Over the 3 seeds of the 400-iteration continuation from one '
    'trained DeepLabV3+-MV2: (1) diffusion helps if the diffusion arm\'s mean test mIoU '
    'exceeds the plain arm\'s by more than twice the larger of the two sample stds; (2) it '
    'helps at boundaries if the same holds for the mIoU within 2 px of a label boundary '
    '(band2); (3) the walks themselves help if y5 - x (output minus the seed head\'s score '
    'map, diffusion arm) is positive by more than twice its std over seeds. The same margin in '
    'the other direction is a negative result; anything else is null.')
MODELS_V2 = (('DeepLabV3+-MV2, continued', 'plain'),
             ('DeepLabV3+-MV2 + diffusion, refinement mode', 'gate'))
CRITERION_V2 = (
    'Fixed before the runs (docs/studies/refinement.md, "Round two"). '
    'Training seeds 0, 1, 2 of the '
    '400-iteration continuation from one trained DeepLabV3+-MV2; for each seed the paired '
    'difference d = refinement-mode arm - plain arm (same seed, same data order). (1) The '
    'refinement mode helps if the mean d in test mIoU exceeds twice its standard error '
    '(sample std / sqrt(3)); (2) it helps at boundaries if the same holds for the mIoU within '
    '2 px of a label boundary; (3) the walks help inside the model if the output - x (mIoU of '
    'the output minus that of the seed head\'s score map, refinement arm) exceeds twice its '
    'standard error. The same margin in the other direction is a negative result; anything '
    'else is null. The first study\'s unpaired rule is reported beside it.')
MODELS_V3 = (('DeepLabV3+-MV2, continued', 'plain'),
             ('DeepLabV3+-MV2 + diffusion, refinement mode, taught similarity', 'taught'))
CRITERION_V3 = (
    'Fixed before the runs (docs/studies/refinement.md, "Round three"). Round '
    'two\'s design and rule with its diffusion arm plus the similarity study\'s label-affinity '
    'loss (all five P_t, weight 1.0, class-balanced): training seeds 0, 1, 2 of the '
    '400-iteration continuation from one trained DeepLabV3+-MV2, d = taught arm - plain arm '
    'per seed. (1) Positive if the mean d in test mIoU exceeds twice its standard error '
    '(sample std / sqrt(3)); (2) the same for the mIoU within 2 px of a label boundary; (3) the '
    'walks help inside the model if output - x (taught arm) exceeds twice its standard error. '
    'The same margin in the other direction is a negative result; anything else is null. '
    'Reported beside, not judged: the similarity score of each P_t on the test frames, and '
    'round two\'s refinement-mode arm (another machine\'s plain model: not paired).')
ROUNDS = {1: (MODELS, CRITERION), 2: (MODELS_V2, CRITERION_V2), 3: (MODELS_V3, CRITERION_V3)}
SMALL = ('pole', 'signsymbol', 'pedestrian', 'bicyclist')  # CamVid's small classes
KEYS = ('mIoU', 'mIoU_band2', 'mIoU_band5', 'mIoU_band10', 'mAcc', 'aAcc')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('study_dir', help='the study dir (plain_base/, <arm>_seed<N>/)')
    parser.add_argument('--json', help='write the numbers here')
    parser.add_argument('--seconds', type=int, help='wall time of the study, to record')
    parser.add_argument('--round', type=int, choices=sorted(ROUNDS), default=1,
                        help='2: the refinement mode against the plain arm, paired; 3: the '
                        'same with the taught similarity')
    args = parser.parse_args()
    base = latest_test_metrics(osp.join(args.study_dir, 'plain_base', 'test'))
    print('The plain model before the continuation (seed 0, 1,000 iterations): ' + ', '.join(
        f'{k} {base[k]:.2f}' for k in KEYS) + '\n')
    extra = dict(plain_base={k: base[k] for k in base})
    models, criterion = ROUNDS[args.round]
    if args.round == 1:
        print(two_arm_study_table(args.study_dir, models, criterion, args.json, args.seconds,
                                  extra=extra))
        return
    extra['diagnostics'] = diagnostics(args.study_dir, [m for _, m in models])
    print(two_arm_study_table(args.study_dir, models, criterion, args.json, args.seconds,
                              extra=extra, paired=True, walk_key='mIoU', required=3))
    print(similarity_rows(args.study_dir, models[1][1]))


def similarity_rows(study_dir, arm):
    """The same-class mass of each P_t on the test frames (tools/test.py --per-walk), mean
    over the arm's finished seeds; empty when the runs have no similarity score."""
    runs = finished_runs(study_dir, [arm], with_walks=[arm]).get(arm, {})
    if not runs or not all('sim_same_P1' in r for r in runs.values()):
        return ''

    def mean(key):
        return statistics.mean(r[key] for r in runs.values())
    return (f'{arm}: same-class mass on the test frames, P_1 .. P_5 (mean over seeds '
            f'{",".join(sorted(runs))}): '
            + ', '.join(f'{mean(f"sim_same_P{t}"):.3f}' for t in range(1, 6))
            + '; P_5 ' + ', '.join(f'{c} {mean(f"sim_same_P5.{c}"):.2f}' for c in SMALL))


def diagnostics(study_dir, prefixes):
    """First and last WalkDiagnosticsHook record of every finished run of the arms."""
    out = {}
    for prefix in prefixes:
        for d in sorted(glob.glob(osp.join(study_dir, f'{prefix}_seed*'))):
            if osp.isfile(osp.join(d, 'done')) and osp.isfile(
                    osp.join(d, RECORDS_FILE)):
                records = load_records(d)
                out[osp.basename(d)] = dict(first=records[0], last=records[-1])
    return out


if __name__ == '__main__':
    main()
