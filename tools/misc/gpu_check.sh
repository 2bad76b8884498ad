#!/usr/bin/env bash
# tools/misc/gpu_check.sh [--fetch | --dry-run]: every GPU check of the project in one run, each
# step time-capped, six files under $OUT (the device tool's folder, which returns 8 at most;
# default work_dirs/gpu_check): gpu_check.log (every step's output), steps.txt (each step's
# exit status and seconds), gpu_check.json (the numbers), gpu_check.md (the tables, and
# the issue's targets met or missed), gpu_study.json and gpu_study.md (the study's).
#
#   bash tools/misc/gpu_check.sh --fetch    # here, with the package registry: the wheels into .whl/
#   python tools/misc/pack_camvid.py        # here: CamVid as JPEG into .camvid_pack/ (43.7 MiB)
#   bash tools/misc/gpu_check.sh            # on the GPU machine (the device tool, carry
#                                           #   [".whl", ".camvid_pack", "checkpoints"])
#   STEPS=study BUDGET=560 bash ...         # call 1: the study; call 2: STEPS="parity table4_..."
#   bash tools/misc/gpu_check.sh --dry-run  # on this CPU machine: the same steps, tiny sizes
#
# On the GPU machine (Python 3.12, torch, no registry) it installs the carried wheels of
# mmengine, mmsegmentation, mmpretrain and their missing dependencies into /tmp/site, and
# builds mmcv 2.1.0 from its carried source with its CPU ops only (the GPU hidden from the
# build: mmcv's setup.py then compiles no CUDA ops, which DifNet does not use). Then:
#   study        the CamVid comparison at a GPU schedule (tools/studies/camvid_gpu_study.py:
#                DeepLabV2-MV2 and DifNet-MV2, seeds 0-2, all at once, sized to the budget;
#                the pack .camvid_pack (tools/misc/pack_camvid.py) and checkpoints/ carried)
#   parity       fused vs dense P·y, values and gradients, fp32 and bf16; the SDPA kernel run
#   table4_*     Table 4 at 505×505, DifNet-50 vs DeepLabV2-101 interleaved: fp32, bf16,
#                each with and without concurrent_branches; training step 321×321 batch 4,
#                fp32 and AMP (bf16), peak memory (fp32 first, bf16 after the CUDA tests)
#   diffusion    P·y dense vs fused up to N = 256²
#   compiled_*   Table 4 under torch.compile (mode='reduce-overhead': CUDA graphs), fp32 and
#                bf16, then with concurrent branches last; parity with eager (dry run: R-18)
#   cuda_tests   the CUDA tests (tests/test_fast_diffusion.py: the fused walk, two streams)
# The steps run in that order of priority inside one budget (BUDGET seconds from the start,
# default 560, under the device tool's 600 s a command): each step's cap shrinks to what is
# left after a reserve for the report, and a step with under 20 s left is skipped (rc=skipped
# in steps.txt), so the report always comes back with what was measured.
# STEPS="parity cuda_tests ..." runs those steps alone (env and report always run).
# The dry run takes the existing environment, the CPU and tiny sizes, so that the script
# cannot rot (tests/test_gpu_check.py runs it under `make test-slow`).
set -uo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:-device}
T0=$(date +%s)
BUDGET=${BUDGET:-}  # seconds for the whole run: 560 on the device, 1800 in the dry run
OUT=${OUT:-work_dirs/gpu_check}
WHL=.whl
mkdir -p "$OUT"
LOG=$OUT/gpu_check.log
PARTS=$(mktemp -d)  # each step's JSON, merged by tools/analysis_tools/gpu_report.py

if [ "$MODE" = --fetch ]; then  # the wheels the device lacks (its package list: KINDS.md)
  set -e
  mkdir -p "$WHL"
  get() { python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
            --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux2014_x86_64 -d "$WHL" "$@"; }
  # setuptools: mmcv 2.1.0's setup.py imports pkg_resources, which newer setuptools drop
  get mmengine==0.10.7 mmsegmentation==1.2.2 mmpretrain==1.2.0 addict==2.4.0 yapf==0.43.0 \
      setuptools==80.9.0 termcolor==2.5.0 prettytable==3.12.0 wcwidth==0.2.13 ftfy==6.3.1 mat4py==0.6.0 \
      modelindex==0.0.2 ordered-set==4.1.0 platformdirs==4.3.6 tomli==2.2.1
  # the source (pip reads its metadata with setup.py, which imports torch: the venv's python)
  "${PYTHON:-python3}" -m pip download -q --no-deps --no-binary=:all: --no-build-isolation \
    -d "$WHL" mmcv==2.1.0
  du -sh "$WHL"
  exit 0
fi

if [ "$MODE" = --dry-run ]; then
  PY=${PYTHON:-python}
  BUDGET=${BUDGET:-1800}
  DEVICE=cpu SIZE=65 TRAIN=65 BATCH=1 ROUNDS=1 REPEATS=1 SIDES=8 N=256 CAP=300
  TESTS=(tests/test_fast_diffusion.py -q -x -k gpu)  # on a CPU: collected, skipped
  STUDY_ARGS=(--dry-run --seeds 0 1)
  COMPILE_CONFIGS="difnet_r18_voc.py deeplabv2_r18_voc.py" COMPILED_LATE=()
else
  PY=python3
  DEVICE=cuda SIZE=505 TRAIN=321 BATCH=4 ROUNDS=5 REPEATS=3 SIDES="64 128 181 256" N=16384
  CAP=150 BUDGET=${BUDGET:-560}
  COMPILE_CONFIGS="difnet_r50_voc.py deeplabv2_r101_voc.py" COMPILED_LATE=(bf16)
  TESTS=(tests/test_fast_diffusion.py -q -x)
  {
    echo "== install (wheels from $WHL, mmcv 2.1.0 with CPU ops) [$(date +%T)]"
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site "$WHL"/*.whl
    export PYTHONPATH=/tmp/site:$PWD
    CUDA_VISIBLE_DEVICES= MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=$(nproc) timeout 400 \
      $PY -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir \
      --target /tmp/site "$WHL"/mmcv-2.1.0.tar.gz
    echo "install: rc=$? [$(date +%T)]"
  } >> "$LOG" 2>&1
fi
export PYTHONPATH=${PYTHONPATH:-}:$PWD
export PYTHONUNBUFFERED=1

step() {  # step NAME CAP_SECONDS COMMAND...: run, log, record rc and seconds
  local name=$1 cap=$2 t0 rc left
  shift 2
  case " ${STEPS:-$name} report env " in *" $name "*) ;; *) return ;; esac  # STEPS: a subset
  t0=$(date +%s)
  left=$(( BUDGET - 30 - (t0 - T0) ))  # 30 s kept for the report
  [ "$cap" -gt "$left" ] && cap=$left
  if [ "$name" != report ] && [ "$cap" -lt 20 ]; then
    echo "$name rc=skipped seconds=0 (budget: ${left}s left)" | tee -a "$OUT/steps.txt" >> "$LOG"
    return
  fi
  [ "$name" = report ] && cap=25
  echo "== $name [$(date +%T)]: $*" >> "$LOG"
  timeout "$cap" "$@" >> "$LOG" 2>&1
  rc=$?
  echo "$name rc=$rc seconds=$(( $(date +%s) - t0 ))" | tee -a "$OUT/steps.txt" >> "$LOG"
}

: > "$OUT/steps.txt"
step env 60 $PY -c "import torch, mmcv, mmengine, mmseg, mmseg_difnet, platform; \
print('torch', torch.__version__, 'cuda', torch.version.cuda, 'mmcv', mmcv.__version__, \
'mmengine', mmengine.__version__, 'mmseg', mmseg.__version__, 'python', platform.python_version()); \
print('device', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
# the CamVid comparison at a GPU schedule (issue 38), first: what no CPU can give. Its
# training gets what the budget leaves after STUDY_RESERVE seconds (calibration, testing and
# the report); gpu_study.json and gpu_study.md come back in $OUT, the runs' logs stay
study_left=$(( BUDGET - 30 - ($(date +%s) - T0) ))
step study $study_left $PY tools/studies/camvid_gpu_study.py --out "$OUT" --work "$PARTS/study" \
  --pack "${PACK:-.camvid_pack}" --train-seconds $(( study_left - ${STUDY_RESERVE:-180} )) \
  ${STUDY_ARGS[@]+"${STUDY_ARGS[@]}"}
compiled() {  # compiled DTYPE [--concurrent]: Table 4 under torch.compile (CUDA graphs on a GPU)
  local dtype=$1 conc=${2:-}
  step "compiled_${dtype}${conc:+_concurrent}" "$CAP" $PY tools/analysis_tools/benchmark.py \
    --device $DEVICE --sections compiled --size $SIZE --dtype $dtype $conc --rounds $ROUNDS \
    --repeats $REPEATS --compile-configs $COMPILE_CONFIGS \
    --out "$PARTS/compiled_${dtype}${conc:+_concurrent}.json"
}
compiled fp32
for d in ${COMPILED_LATE[@]+"${COMPILED_LATE[@]}"}; do compiled "$d"; done
step parity "$CAP" $PY tools/analysis_tools/fused_parity.py --device $DEVICE --N $N --out "$PARTS/parity.json"
table4() {  # table4 DTYPE [--concurrent]: Table 4, and the training step once per precision
  local dtype=$1 conc=${2:-} extra=(--no-train-step)
  [ -z "$conc" ] && extra=(--train-batch $BATCH)
  [ "$dtype" = bf16 ] && [ -z "$conc" ] && extra+=(--amp)  # AMP (bf16)
  step "table4_${dtype}${conc:+_concurrent}" "$CAP" $PY tools/analysis_tools/benchmark.py --device $DEVICE \
    --sections models --size $SIZE --train-size $TRAIN "${extra[@]}" --dtype $dtype $conc \
    --rounds $ROUNDS --repeats $REPEATS --out "$PARTS/table4_${dtype}${conc:+_concurrent}.json"
}
table4 fp32 --concurrent
table4 fp32
step diffusion "$CAP" $PY tools/analysis_tools/benchmark.py --device $DEVICE --sections diffusion \
  --sides $SIDES --diffusion-rounds $(( ROUNDS < 3 ? ROUNDS : 3 )) --out "$PARTS/diffusion.json"
step cuda_tests "$CAP" $PY -m pytest "${TESTS[@]}" -p no:cacheprovider
table4 bf16
table4 bf16 --concurrent
for d in ${COMPILED_LATE[@]+fp32 "${COMPILED_LATE[@]}"}; do compiled "$d" --concurrent; done
step report 60 $PY tools/analysis_tools/gpu_report.py "$PARTS" "$OUT"
cat "$OUT/steps.txt"
! grep -qv ' rc=0 ' "$OUT/steps.txt"
