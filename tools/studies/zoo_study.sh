#!/usr/bin/env bash
# The zoo study (docs/studies/zoo.md, design fixed before its first test number): mmseg's heads
# on the ImageNet MobileNetV2-D8 at the similarity study's CamVid recipe (configs/zoo/), paired
# per seed with DeepLabV2-MV2 and DifNet-MV2 of benchmarks/similarity_study.json (same recipe,
# same seeds, same data order). Each run trains with tools/train.py --resume, is tested on the
# 233 test frames with tools/test.py and leaves `done`; finished runs are kept in STUDY_JSON,
# so the study spans sessions. Checkpoints stay under STUDY_WORK_DIR, outside the clone
# (default ../difnet_runs/camvid_zoo): the refinement study post-processes them.
#   HEADS="fcn pspnet deeplabv3 deeplabv3plus nonlocal ccnet", SEEDS (the design's), JOBS, THREADS
#   LONG=1: the 4,000-iteration check instead: one seed (LONG_SEED, default 3) of every head
#     and of DeepLabV2-MV2 and DifNet-MV2, the same poly policy over 4,000 iterations
#     (runs <arm>_4k_seed<N>).
#   PILOT=1: the pilot instead: seed 100 (in no study) of every head and DeepLabV2-MV2, scored
#     on the 101 val frames only (STUDY_WORK_DIR default ../difnet_runs/camvid_zoo_pilot).
#   PILOT=2: the second pilot (the first flagged every head on the small classes): FCN at
#     seed 100 without the auxiliary head (fcn-noaux) and without dropout (fcn-nodrop), val
#     only, beside the first pilot's runs.
#   EXTRA_OPTS="key=value ...": more --cfg-options for every run (the tests shrink the runs).
#   REFINER_CKPT=<refiner.pth>: each run, once tested, is post-processed at once (plain,
#     DenseCRF, the refiner on the test frames: tools/studies/refine_zoo_study.py into
#     REFINE_JSON, default benchmarks/refine_zoo.json), one lane at a time: a machine that
#     does not outlive the session keeps no checkpoint for a later one. A missing refiner
#     checkpoint skips it with a message (make study-refine-zoo catches up).
# tools/studies/zoo_table.py writes benchmarks/camvid_zoo.json (PILOT=1: the pilot's JSON).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${PILOT:-0}" != 0 ]; then
  DEFAULT_OUT=../difnet_runs/camvid_zoo_pilot
  SEEDS=100
  STUDY_JSON=${PILOT_JSON:-benchmarks/camvid_zoo_pilot.json}
else
  DEFAULT_OUT=../difnet_runs/camvid_zoo
  SEEDS=${SEEDS:-3 4 5}
  STUDY_JSON=${STUDY_JSON:-benchmarks/camvid_zoo.json}
fi
source tools/studies/study_common.sh
HEADS=${HEADS:-fcn pspnet deeplabv3 deeplabv3plus nonlocal ccnet}
config() {  # config ARM: the arm's config
  case $1 in
    deeplabv2) echo configs/difnet/deeplabv2_mv2-d8_camvid-240x320_2k.py ;;
    difnet) echo configs/difnet/difnet_mv2-d8_camvid-240x320_2k.py ;;
    *) echo "configs/zoo/$1_mv2-d8_camvid-240x320_2k.py" ;;
  esac
}
read -r -a EXTRA <<< "${EXTRA_OPTS:-}"
postprocess() {  # every finished run not yet in REFINE_JSON, one lane at a time (flock)
  [ -n "${REFINER_CKPT:-}" ] && [ "${TRAIN_ONLY:-0}" != 1 ] || return 0
  if [ ! -f "$REFINER_CKPT" ]; then
    echo "==> post-processing skipped: no refiner checkpoint at $REFINER_CKPT (REFINER_CKPT); make study-refine-zoo catches up" >&2
    return 0
  fi
  echo "==> [$(date +%T)] post-processing the finished runs (log $OUT/postprocess.log)"
  OMP_NUM_THREADS=$THREADS flock "$OUT/.postprocess.lock" python tools/studies/refine_zoo_study.py \
    "$OUT" --camvid-root "$CAMVID_ROOT" --refiner-checkpoint "$REFINER_CKPT" \
    --json "${REFINE_JSON:-benchmarks/refine_zoo.json}" >> "$OUT/postprocess.log" 2>&1 \
    || { echo "post-processing failed, see $OUT/postprocess.log" >&2; tail -20 "$OUT/postprocess.log" >&2; return 1; }
}
jobs_list=()
if [ "${LONG:-0}" = 1 ]; then
  seed=${LONG_SEED:-3}
  for arm in deeplabv2 difnet $HEADS; do
    jobs_list+=("run ${arm}_4k_seed$seed $(config "$arm") $seed $THREADS train_cfg.max_iters=4000 train_cfg.val_interval=4000 param_scheduler.0.end=4000 ${EXTRA[*]}")
  done
elif [ "${PILOT:-0}" != 0 ]; then
  on_val="test_dataloader.dataset.data_prefix.img_path=val test_dataloader.dataset.data_prefix.seg_map_path=valannot"
  if [ "$PILOT" = 2 ]; then
    jobs_list+=("run fcn-noaux_seed100 $(config fcn) 100 $THREADS model.auxiliary_head=None $on_val ${EXTRA[*]}")
    jobs_list+=("run fcn-nodrop_seed100 $(config fcn) 100 $THREADS model.decode_head.dropout_ratio=0 $on_val ${EXTRA[*]}")
  else
    for arm in deeplabv2 $HEADS; do
      jobs_list+=("run ${arm}_seed100 $(config "$arm") 100 $THREADS $on_val ${EXTRA[*]}")
    done
  fi
else
  for seed in $SEEDS; do
    for arm in $HEADS; do
      jobs_list+=("run ${arm}_seed$seed $(config "$arm") $seed $THREADS ${EXTRA[*]} && postprocess")
    done
  done
fi
run_jobs "${jobs_list[@]}"
[ "${TRAIN_ONLY:-0}" = 1 ] && exit 0
if [ "${PILOT:-0}" != 0 ]; then
  python tools/studies/zoo_table.py "$OUT" --pilot --json "$STUDY_JSON"
else
  python tools/studies/zoo_table.py "$OUT" --json "$STUDY_JSON" \
    --seconds $(( $(date +%s) - start ))
fi
