#!/usr/bin/env bash
# The demo of `make demo`: synthetic VOC-layout data built so that the seed branch alone
# cannot recover what pixel similarity can (mmseg_difnet/datasets/synthetic_voc.py), DifNet-R18
# and DeepLabV2-R18 trained from scratch with tools/train.sh (2 processes; gloo on CPU), both
# evaluated with `mim test` (DifNet with the per-walk table), the diffusion study sheet, and
# the side-by-side table. Run from the repository root with the environment's python,
# torchrun and mim on PATH (make demo does both). SEED picks the training seed (default 0);
# tools/studies/demo_study.sh runs several.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=data/synthetic_voc
OUT=${DEMO_WORK_DIR:-work_dirs/demo}
NPROC=${NPROC:-2}
ITERS=${DEMO_ITERS:-400}
SEED=${SEED:-0}
start=$(date +%s)
mkdir -p "$OUT"

if [ ! -f "$DATA/VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt" ] || \
   [ "$(cat "$DATA/.version" 2>/dev/null)" != cue-regions ]; then
  rm -rf "$DATA"
  python tools/dataset_converters/generate_synthetic_voc.py --out "$DATA"
  echo cue-regions > "$DATA/.version"
fi
for model in difnet deeplabv2; do
  cfg=configs/difnet/${model}_r18_synthetic.py
  if [ "${REUSE:-0}" = 1 ] && [ -f "$OUT/$model/iter_$ITERS.pth" ]; then
    echo "==> reusing $OUT/$model/iter_$ITERS.pth (REUSE=1)"
  else
    echo "==> training $model ($cfg, $ITERS iterations, $NPROC processes, seed $SEED); log: $OUT/$model.train.log"
    set +e
    PORT=${PORT:-29517} tools/train.sh "$cfg" "$NPROC" --work-dir "$OUT/$model" \
      --cfg-options train_cfg.max_iters="$ITERS" train_cfg.val_interval="$ITERS" \
      default_hooks.checkpoint.interval="$ITERS" param_scheduler.0.end="$ITERS" \
      randomness.seed="$SEED" 2>&1 | tee "$OUT/$model.train.log" \
      | { grep --line-buffered -E "Iter\(train\)|mIoU:" | sed -u -E 's/^.* - INFO - //; s/  data_time: [0-9.]+//; s/  (decode|aux)\.[a-z_]+: [0-9.]+//g'; true; }
    status=${PIPESTATUS[0]}
    set -e
    [ "$status" = 0 ] || { tail -30 "$OUT/$model.train.log"; exit 1; }
  fi
  opts=()
  [ "$model" = difnet ] && opts=(--cfg-options model.test_cfg.per_walk=True)
  echo "==> mim test mmseg $cfg --checkpoint $OUT/$model/iter_$ITERS.pth ${opts[*]}"
  mim test mmseg "$cfg" --checkpoint "$OUT/$model/iter_$ITERS.pth" \
    --work-dir "$OUT/$model/test" "${opts[@]}" > "$OUT/$model.test.log" 2>&1 \
    || { tail -30 "$OUT/$model.test.log"; exit 1; }
  grep -E "mIoU:" "$OUT/$model.test.log" | tail -1 | sed -E 's/^.* - INFO - //'
done
echo "==> the diffusion study of the demo DifNet (Fig. 2-4, Table 3) on a validation image"
VAL=$DATA/VOCdevkit/VOC2012
python tools/analysis_tools/visualize_diffusion.py configs/difnet/difnet_r18_synthetic.py \
  "$OUT/difnet/iter_$ITERS.pth" "$VAL/JPEGImages/syn_val_00000.jpg" \
  --gt "$VAL/SegmentationClass/syn_val_00000.png" --out "$OUT/diffusion_study" \
  > "$OUT/diffusion_study.log" 2>&1 || { tail -30 "$OUT/diffusion_study.log"; exit 1; }
echo "summary sheet: $OUT/diffusion_study/summary.png"
python tools/studies/demo_table.py "$OUT" --seconds $(( $(date +%s) - start ))
