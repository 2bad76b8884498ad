# Shared by the CamVid studies (camvid_study.sh, similarity_study.sh, zoo_study.sh): the settings,
# the data check and `run`, which trains one run (resumable), tests it and marks it done.
# Sourced, not run. TRAIN_ONLY=1 trains without testing (marker `trained`).
OUT=${STUDY_WORK_DIR:-$DEFAULT_OUT}
SEEDS=${SEEDS:-0 1 2}
JOBS=${JOBS:-2}
THREADS=${THREADS:-1}
CAMVID_ROOT=${CAMVID_ROOT:-../shared/data/camvid}
[ -d "$CAMVID_ROOT/testannot" ] || { echo "CamVid is not at $CAMVID_ROOT (CAMVID_ROOT): see docs/data.md." >&2; exit 1; }
mkdir -p "$OUT"
start=$(date +%s)

run() {  # run NAME CONFIG SEED THREADS [--per-walk] [--diagnose] [cfg-options...]
  local name=$1 cfg=$2 seed=$3 threads=$4 walk=() diag=() dir opts
  shift 4
  [ "${1:-}" = --per-walk ] && { walk=(--per-walk); shift; }
  [ "${1:-}" = --diagnose ] && { diag=(--diagnose 50); shift; }
  dir=$OUT/$name
  [ -f "$dir/done" ] && { echo "==> $name: done before, skipped"; return 0; }
  # a run finished in an earlier session is kept in the study's JSON
  if [ -n "${STUDY_JSON:-}" ] && python tools/studies/study_has_run.py "$STUDY_JSON" "$name"
  then echo "==> $name: finished in an earlier session (kept in $STUDY_JSON), skipped"; return 0; fi
  mkdir -p "$dir"
  opts=(randomness.seed="$seed" "$@")
  for s in train val test; do
    opts+=("${s}_dataloader.dataset.data_root=$CAMVID_ROOT" "${s}_dataloader.num_workers=1")
  done
  if [ -f "$dir/trained" ]; then
    echo "==> $name: trained before (TRAIN_ONLY), testing"
  else
    echo "==> [$(date +%T)] $name: training (log $dir/train.log)"
    # the machine of each start or resume: CPUs round differently, so a rerun of a seed on
    # another one is another run (docs/studies/zoo.md, "How well a run reproduces")
    local cpu flags
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1) || true
    flags=$(grep -o -w -E 'avx2|avx512f|amx_tile' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ') || true
    echo "$(date -u +%FT%TZ) $(uname -m) $cpu ${flags}threads=$threads" >> "$dir/cpu.txt"
    OMP_NUM_THREADS=$threads python tools/train.py "$cfg" --work-dir "$dir" --resume "${diag[@]}" \
      --cfg-options "${opts[@]}" > "$dir/train.log" 2>&1 \
      || { echo "$name: training failed, see $dir/train.log" >&2; tail -20 "$dir/train.log" >&2; return 1; }
    touch "$dir/trained"
  fi
  # TRAIN_ONLY=1: no test-set number yet (a study whose design is not complete: its runs are
  # tested by a later call without it)
  [ "${TRAIN_ONLY:-0}" = 1 ] && { echo "==> [$(date +%T)] $name: trained (TRAIN_ONLY: not tested)"; return 0; }
  local ckpt
  ckpt=$(cat "$dir/last_checkpoint")
  echo "==> [$(date +%T)] $name: testing $ckpt"
  OMP_NUM_THREADS=$threads python tools/test.py "$cfg" "$ckpt" --work-dir "$dir/test" "${walk[@]}" \
    --cfg-options "${opts[@]}" > "$dir/test.log" 2>&1 \
    || { echo "$name: test failed, see $dir/test.log" >&2; tail -20 "$dir/test.log" >&2; return 1; }
  grep -E "mIoU:" "$dir/test.log" | tail -1 | sed -E 's/^.* - INFO - /    /'
  touch "$dir/done"
}

run_jobs() {  # run_jobs "CMD ARGS" ...: each a command line, JOBS at a time
  local failed=0 job
  for job in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || failed=1; done
    eval "$job" &
  done
  while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
  [ "$failed" = 0 ] || { echo "some runs failed; re-run to resume them" >&2; return 1; }
}
