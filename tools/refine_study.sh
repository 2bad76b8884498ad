#!/usr/bin/env bash
# The refinement study of `make study-refine` (README, "Diffusion for any mmseg model"):
# 1. the plain DeepLabV3+-MV2 trained once (seed 0, configs/difnet/
#    deeplabv3plus_mv2-d8_camvid-240x320.py, 1,000 iterations from ImageNet), with every core;
# 2. from its checkpoint, 400 more iterations for seeds 0, 1, 2 with the plain model
#    (..._refine.py) and with diffusion (difnet-..._refine.py, walks on the image and the
#    model's own stages), both through model.seed_checkpoint;
# 3. every run tested on the 233 test frames (diffusion with --per-walk), trimap mIoU and
#    per-class IoU from the dataset base.
# Runs train with --resume and leave `done`: re-running skips finished runs. JOBS runs at a
# time, each with THREADS torch threads; tools/refine_table.py writes
# benchmarks/refine_study.json.
set -euo pipefail
cd "$(dirname "$0")/.."
DEFAULT_OUT=work_dirs/refine_study
source tools/study_common.sh

run plain_base configs/difnet/deeplabv3plus_mv2-d8_camvid-240x320.py 0 "$(( JOBS * THREADS ))"
BASE_CKPT=$(cat "$OUT/plain_base/last_checkpoint")
jobs_list=()
for seed in $SEEDS; do
  jobs_list+=("run diffusion_seed$seed configs/difnet/difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320_refine.py $seed $THREADS --per-walk model.seed_checkpoint=$BASE_CKPT"
              "run plain_seed$seed configs/difnet/deeplabv3plus_mv2-d8_camvid-240x320_refine.py $seed $THREADS model.seed_checkpoint=$BASE_CKPT")
done
run_jobs "${jobs_list[@]}"
python tools/refine_table.py "$OUT" --json benchmarks/refine_study.json --seconds $(( $(date +%s) - start ))
