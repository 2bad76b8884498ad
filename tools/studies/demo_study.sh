#!/usr/bin/env bash
# The multi-seed study of `make study`: the demo (tools/studies/demo.sh) for training seeds 0, 1, 2
# on the same data, then mean ± std of DifNet vs DeepLabV2 and of DifNet's per-walk rows,
# written to benchmarks/demo_study.json and printed as the table of docs/studies/demo.md. About 30 minutes
# on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${STUDY_WORK_DIR:-work_dirs/demo_study}
SEEDS=${SEEDS:-0 1 2}
for seed in $SEEDS; do
  echo "==> seed $seed"
  REUSE=1 SEED=$seed DEMO_WORK_DIR="$OUT/seed$seed" bash tools/studies/demo.sh  # resumable
done
python tools/studies/demo_table.py --study "$OUT" --json benchmarks/demo_study.json
