#!/usr/bin/env bash
# The CamVid study of `make study-camvid` (docs/studies/camvid.md): DeepLabV2-MV2
# and DifNet-MV2, both from ImageNet MobileNetV2s (`make weights`), for training seeds 0, 1, 2
# with the schedule of configs/_base_/schedules/camvid_cpu_study.py (fixed before any
# comparison was run). Each run trains with tools/train.py --resume (an interrupted run goes
# on from its newest checkpoint), is tested on the 233 test frames with tools/test.py (DifNet
# with --per-walk; every model with the trimap mIoU and per-class IoU of the dataset base),
# and leaves `done` in its work dir: re-running skips finished runs. JOBS runs at a time (each
# with THREADS torch threads); tools/studies/camvid_table.py writes benchmarks/camvid_study.json.
# Round two (`make study-camvid-paired`, issue 26): SEEDS="3 4 5 6 7 8",
# STUDY_WORK_DIR=work_dirs/camvid_study_paired, PAIRED=1 (the paired criterion) and
# STUDY_JSON=benchmarks/camvid_study_paired.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEFAULT_OUT=work_dirs/camvid_study
source tools/studies/study_common.sh

jobs_list=()
for seed in $SEEDS; do
  jobs_list+=("run difnet_seed$seed configs/difnet/difnet_mv2-d8_camvid-240x320.py $seed $THREADS --per-walk"
              "run deeplabv2_seed$seed configs/difnet/deeplabv2_mv2-d8_camvid-240x320.py $seed $THREADS")
done
run_jobs "${jobs_list[@]}"
paired=()
[ "${PAIRED:-0}" = 1 ] && paired=(--paired)
python tools/studies/camvid_table.py "$OUT" "${paired[@]}" --json "${STUDY_JSON:-benchmarks/camvid_study.json}" \
  --seconds $(( $(date +%s) - start ))
