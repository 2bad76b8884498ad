#!/usr/bin/env bash
# The refinement study of `make study-refine` (docs/diffusion_for_any_model.md):
# 1. the plain DeepLabV3+-MV2 trained once (seed 0, configs/difnet/
#    deeplabv3plus_mv2-d8_camvid-240x320.py, 1,000 iterations from ImageNet), with every core;
# 2. from its checkpoint, 400 more iterations for seeds 0, 1, 2 with the plain model
#    (..._refine.py) and with diffusion (difnet-..._refine.py, walks on the image and the
#    model's own stages), both through model.seed_checkpoint;
# 3. every run tested on the 233 test frames (diffusion with --per-walk), trimap mIoU and
#    per-class IoU from the dataset base.
# Runs train with --resume and leave `done`: re-running skips finished runs. JOBS runs at a
# time, each with THREADS torch threads; tools/studies/refine_table.py writes
# benchmarks/refine_study.json.
# ROUND=2 (`make study-refine-v2`, issue 25): the diffusion arm in the refinement mode
# (difnet-..._refine-gate.py, runs gate_seed<N>), both arms with --diagnose (which leaves a
# run's numbers unchanged: plain_base and plain_seed<N> are the same runs in both rounds),
# the paired criterion, benchmarks/refine_study_v2.json.
# ROUND=3 (`make study-refine-v3`, issue 41): round two's diffusion arm plus the similarity
# study's label-affinity loss (difnet-..._refine-gate-affinity.py, runs taught_seed<N>),
# against the same plain arm, paired, benchmarks/refine_study_v3.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEFAULT_OUT=work_dirs/refine_study
source tools/studies/study_common.sh

run plain_base configs/difnet/deeplabv3plus_mv2-d8_camvid-240x320.py 0 "$(( JOBS * THREADS ))"
BASE_CKPT=$(cat "$OUT/plain_base/last_checkpoint")
CFG=configs/difnet
if [ "${ROUND:-1}" = 2 ]; then
  arm=gate diag=--diagnose table=(--round 2 --json benchmarks/refine_study_v2.json)
  diffusion_cfg=$CFG/difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320_refine-gate.py
elif [ "${ROUND:-1}" = 3 ]; then
  arm=taught diag=--diagnose table=(--round 3 --json benchmarks/refine_study_v3.json)
  diffusion_cfg=$CFG/difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320_refine-gate-affinity.py
else
  arm=diffusion diag="" table=(--json benchmarks/refine_study.json)
  diffusion_cfg=$CFG/difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320_refine.py
fi
jobs_list=()
for seed in $SEEDS; do
  jobs_list+=("run ${arm}_seed$seed $diffusion_cfg $seed $THREADS --per-walk $diag model.seed_checkpoint=$BASE_CKPT"
              "run plain_seed$seed $CFG/deeplabv3plus_mv2-d8_camvid-240x320_refine.py $seed $THREADS $diag model.seed_checkpoint=$BASE_CKPT")
done
run_jobs "${jobs_list[@]}"
python tools/studies/refine_table.py "$OUT" "${table[@]}" --seconds $(( $(date +%s) - start ))
