#!/usr/bin/env bash
# The pilots of the similarity study (docs/studies/similarity.md, "Pilots", fixed before they
# ran): the taught DifNet-MV2 (configs/difnet/difnet_mv2-d8-affinity_camvid-240x320.py, the
# CamVid recipe at 1,000 iterations) with the affinity loss weight λ in LAMBDAS (default
# "0.1 1.0"), training seed 100 (in no study), scored on the val frames only (tools/test.py
# --per-walk on val: mIoU per stage and the similarity score). Resumable as the studies.
# SWITCHES="paper psi16 temperature walk-lr10" (default: none) pilots the other switches
# (docs/studies/similarity.md, "Other switches") the same way: the paper's DifNet-MV2 and each
# switch's config at the same 1,000 iterations (the 2k configs with their schedule cut to
# 1,000), seed 100, val only, as <switch>_seed100 (LAMBDAS then defaults to none).
# PILOT_JSON=F writes the pilots' val metrics to F (benchmarks/similarity_pilot_psi16.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
DEFAULT_OUT=work_dirs/similarity_pilot
SEEDS=100
source tools/studies/study_common.sh
jobs_list=()
if [ -n "${SWITCHES:-}" ]; then LAMBDAS=${LAMBDAS:-}; else LAMBDAS=${LAMBDAS:-0.1 1.0}; fi
for lam in $LAMBDAS; do
  jobs_list+=("run taught_lambda${lam}_seed100 configs/difnet/difnet_mv2-d8-affinity_camvid-240x320.py 100 $THREADS --per-walk model.decode_head.affinity_loss.loss_weight=$lam test_dataloader.dataset.data_prefix.img_path=val test_dataloader.dataset.data_prefix.seg_map_path=valannot")
done
VAL="test_dataloader.dataset.data_prefix.img_path=val test_dataloader.dataset.data_prefix.seg_map_path=valannot"
CUT="train_cfg.max_iters=1000 train_cfg.val_interval=1000 param_scheduler.0.end=1000"
declare -A SWITCH_CONFIG=(
  [paper]=configs/difnet/difnet_mv2-d8_camvid-240x320_2k.py
  [psi16]=configs/difnet/difnet_mv2-d8-psi16_camvid-240x320_2k.py
  [temperature]=configs/difnet/difnet_mv2-d8-temperature_camvid-240x320_2k.py
  [walk-lr10]=configs/difnet/difnet_mv2-d8-walk-lr10_camvid-240x320_2k.py)
for sw in ${SWITCHES:-}; do
  jobs_list+=("run ${sw}_seed100 ${SWITCH_CONFIG[$sw]} 100 $THREADS --per-walk $CUT $VAL")
done
run_jobs "${jobs_list[@]}"
python tools/studies/similarity_table.py "$OUT" --pilot ${PILOT_JSON:+--json "$PILOT_JSON"}
