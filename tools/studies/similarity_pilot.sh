#!/usr/bin/env bash
# The pilots of the similarity study (docs/studies/similarity.md, "Pilots", fixed before they
# ran): the taught DifNet-MV2 (configs/difnet/difnet_mv2-d8-affinity_camvid-240x320.py, the
# CamVid recipe at 1,000 iterations) with the affinity loss weight λ in LAMBDAS (default
# "0.1 1.0"), training seed 100 (in no study), scored on the val frames only (tools/test.py
# --per-walk on val: mIoU per stage and the similarity score). Resumable as the studies.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEFAULT_OUT=work_dirs/similarity_pilot
SEEDS=100
source tools/studies/study_common.sh
jobs_list=()
for lam in ${LAMBDAS:-0.1 1.0}; do
  jobs_list+=("run taught_lambda${lam}_seed100 configs/difnet/difnet_mv2-d8-affinity_camvid-240x320.py 100 $THREADS --per-walk model.decode_head.affinity_loss.loss_weight=$lam test_dataloader.dataset.data_prefix.img_path=val test_dataloader.dataset.data_prefix.seg_map_path=valannot")
done
run_jobs "${jobs_list[@]}"
python tools/studies/similarity_table.py "$OUT" --pilot
