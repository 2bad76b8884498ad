#!/usr/bin/env bash
# The CamVid study of `make study-camvid` (README, "Results on real images"): DeepLabV2-MV2
# and DifNet-MV2, both from ImageNet MobileNetV2s (`make weights`), for training seeds 0, 1, 2
# with the schedule of configs/_base_/schedules/camvid_cpu_study.py (fixed before any
# comparison was run). Each run trains with tools/train.py --resume (an interrupted run goes
# on from its newest checkpoint), is tested on the 233 test frames with tools/test.py (DifNet
# with --per-walk; every model with the trimap mIoU and per-class IoU of the dataset base),
# and leaves `done` in its work dir: re-running skips finished runs. JOBS runs at a time (each
# with THREADS torch threads); tools/camvid_table.py writes benchmarks/camvid_study.json.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${STUDY_WORK_DIR:-work_dirs/camvid_study}
SEEDS=${SEEDS:-0 1 2}
JOBS=${JOBS:-2}
THREADS=${THREADS:-1}
CAMVID_ROOT=${CAMVID_ROOT:-../shared/data/camvid}
[ -d "$CAMVID_ROOT/testannot" ] || { echo "CamVid is not at $CAMVID_ROOT (CAMVID_ROOT): see README.md, \"Data\"." >&2; exit 1; }
mkdir -p "$OUT"
start=$(date +%s)

run() {  # run MODEL SEED
  local model=$1 seed=$2 cfg dir opts
  cfg=configs/difnet/${model}_mv2-d8_camvid-240x320.py
  dir=$OUT/${model}_seed$seed
  [ -f "$dir/done" ] && { echo "==> $model seed $seed: done before, skipped"; return 0; }
  mkdir -p "$dir"
  opts=(randomness.seed="$seed")
  for s in train val test; do
    opts+=("${s}_dataloader.dataset.data_root=$CAMVID_ROOT" "${s}_dataloader.num_workers=1")
  done
  echo "==> [$(date +%T)] $model seed $seed: training (log $dir/train.log)"
  OMP_NUM_THREADS=$THREADS python tools/train.py "$cfg" --work-dir "$dir" --resume \
    --cfg-options "${opts[@]}" > "$dir/train.log" 2>&1 \
    || { echo "$model seed $seed: training failed, see $dir/train.log" >&2; tail -20 "$dir/train.log" >&2; return 1; }
  local ckpt
  ckpt=$(cat "$dir/last_checkpoint")
  echo "==> [$(date +%T)] $model seed $seed: testing $ckpt"
  local walk=()
  [ "$model" = difnet ] && walk=(--per-walk)
  OMP_NUM_THREADS=$THREADS python tools/test.py "$cfg" "$ckpt" --work-dir "$dir/test" "${walk[@]}" \
    --cfg-options "${opts[@]}" > "$dir/test.log" 2>&1 \
    || { echo "$model seed $seed: test failed, see $dir/test.log" >&2; tail -20 "$dir/test.log" >&2; return 1; }
  grep -E "mIoU:" "$dir/test.log" | tail -1 | sed -E 's/^.* - INFO - /    /'
  touch "$dir/done"
}

jobs_list=()
for seed in $SEEDS; do for model in difnet deeplabv2; do jobs_list+=("$model $seed"); done; done
failed=0
for job in "${jobs_list[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || failed=1; done
  run $job &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
[ "$failed" = 0 ] || { echo "some runs failed; re-run to resume them" >&2; exit 1; }
python tools/camvid_table.py "$OUT" --json benchmarks/camvid_study.json --seconds $(( $(date +%s) - start ))
