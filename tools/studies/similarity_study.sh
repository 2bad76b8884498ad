#!/usr/bin/env bash
# The similarity study (round three, issue 41; docs/studies/similarity.md, design fixed before
# its first run): DeepLabV2-MV2, the paper's DifNet-MV2 and the taught DifNet-MV2 (the
# label-affinity loss on every P_t), at the 2,000-iteration schedule
# (configs/_base_/schedules/camvid_cpu_study_2k.py), paired per seed, seeds 3-8. Each run
# trains with tools/train.py --resume, is tested on the 233 test frames with tools/test.py
# (the models with diffusion with --per-walk: per-walk mIoU and the similarity score), and
# leaves `done`; finished runs are kept in STUDY_JSON, so the study spans sessions.
#   ARMS="deeplabv2 difnet taught" (default: all three), SEEDS="3 4 5 6 7 8", JOBS, THREADS;
#   TRAIN_ONLY=1 trains without testing (the baseline arms ran before the taught arm's
#   pilot choice was committed: no test number came before it).
# tools/studies/similarity_table.py writes benchmarks/similarity_study.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEFAULT_OUT=work_dirs/similarity_study
SEEDS=${SEEDS:-3 4 5 6 7 8}
STUDY_JSON=${STUDY_JSON:-benchmarks/similarity_study.json}
source tools/studies/study_common.sh
ARMS=${ARMS:-deeplabv2 difnet taught}
declare -A CONFIG=(
  [deeplabv2]=configs/difnet/deeplabv2_mv2-d8_camvid-240x320_2k.py
  [difnet]=configs/difnet/difnet_mv2-d8_camvid-240x320_2k.py
  [taught]=configs/difnet/difnet_mv2-d8-affinity_camvid-240x320_2k.py)
jobs_list=()
for seed in $SEEDS; do
  for arm in $ARMS; do
    walk=()
    [ "$arm" != deeplabv2 ] && walk=(--per-walk)
    jobs_list+=("run ${arm}_seed$seed ${CONFIG[$arm]} $seed $THREADS ${walk[*]}")
  done
done
run_jobs "${jobs_list[@]}"
[ "${TRAIN_ONLY:-0}" = 1 ] && exit 0
python tools/studies/similarity_table.py "$OUT" --json "$STUDY_JSON" \
  --seconds $(( $(date +%s) - start ))
