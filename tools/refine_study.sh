#!/usr/bin/env bash
# The refinement study of `make study-refine` (README, "Diffusion for any mmseg model"):
# 1. the plain DeepLabV3+-MV2 trained once (seed 0, configs/difnet/
#    deeplabv3plus_mv2-d8_camvid-240x320.py, 1,000 iterations from ImageNet);
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
OUT=${STUDY_WORK_DIR:-work_dirs/refine_study}
SEEDS=${SEEDS:-0 1 2}
JOBS=${JOBS:-2}
THREADS=${THREADS:-1}
CAMVID_ROOT=${CAMVID_ROOT:-../shared/data/camvid}
[ -d "$CAMVID_ROOT/testannot" ] || { echo "CamVid is not at $CAMVID_ROOT (CAMVID_ROOT): see README.md, \"Data\"." >&2; exit 1; }
mkdir -p "$OUT"
start=$(date +%s)
PLAIN=configs/difnet/deeplabv3plus_mv2-d8_camvid-240x320.py

run() {  # run NAME CONFIG SEED THREADS [--per-walk] [cfg-options...]
  local name=$1 cfg=$2 seed=$3 threads=$4 walk=() dir opts
  shift 4
  [ "${1:-}" = --per-walk ] && { walk=(--per-walk); shift; }
  dir=$OUT/$name
  [ -f "$dir/done" ] && { echo "==> $name: done before, skipped"; return 0; }
  mkdir -p "$dir"
  opts=(randomness.seed="$seed" "$@")
  for s in train val test; do
    opts+=("${s}_dataloader.dataset.data_root=$CAMVID_ROOT" "${s}_dataloader.num_workers=1")
  done
  echo "==> [$(date +%T)] $name: training (log $dir/train.log)"
  OMP_NUM_THREADS=$threads python tools/train.py "$cfg" --work-dir "$dir" --resume \
    --cfg-options "${opts[@]}" > "$dir/train.log" 2>&1 \
    || { echo "$name: training failed, see $dir/train.log" >&2; tail -20 "$dir/train.log" >&2; return 1; }
  local ckpt
  ckpt=$(cat "$dir/last_checkpoint")
  echo "==> [$(date +%T)] $name: testing $ckpt"
  OMP_NUM_THREADS=$threads python tools/test.py "$cfg" "$ckpt" --work-dir "$dir/test" "${walk[@]}" \
    --cfg-options "${opts[@]}" > "$dir/test.log" 2>&1 \
    || { echo "$name: test failed, see $dir/test.log" >&2; tail -20 "$dir/test.log" >&2; return 1; }
  grep -E "mIoU:" "$dir/test.log" | tail -1 | sed -E 's/^.* - INFO - /    /'
  touch "$dir/done"
}

# 1. the plain model, once, with every core
run plain_base "$PLAIN" 0 "$(( JOBS * THREADS ))"
BASE_CKPT=$(cat "$OUT/plain_base/last_checkpoint")

# 2. the continuations, JOBS at a time
jobs_list=()
for seed in $SEEDS; do jobs_list+=("diffusion $seed" "plain $seed"); done
failed=0
for job in "${jobs_list[@]}"; do
  set -- $job
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || failed=1; done
  if [ "$1" = diffusion ]; then
    run "diffusion_seed$2" configs/difnet/difnet-deeplabv3plus_mv2-d8-shared_camvid-240x320_refine.py \
      "$2" "$THREADS" --per-walk model.seed_checkpoint="$BASE_CKPT" &
  else
    run "plain_seed$2" configs/difnet/deeplabv3plus_mv2-d8_camvid-240x320_refine.py \
      "$2" "$THREADS" model.seed_checkpoint="$BASE_CKPT" &
  fi
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
[ "$failed" = 0 ] || { echo "some runs failed; re-run to resume them" >&2; exit 1; }
python tools/refine_table.py "$OUT" --json benchmarks/refine_study.json --seconds $(( $(date +%s) - start ))
