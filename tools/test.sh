#!/usr/bin/env bash
# tools/test.sh CONFIG CHECKPOINT GPUS [test.py args]: as tools/train.sh, for testing.
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
# the project's environment (make env) when it exists and none is active, else python on PATH
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PYTHON:-}" ] && [ -z "${VIRTUAL_ENV:-}" ] && [ -x "$ROOT/.venv/bin/python" ]; then
  PYTHON="$ROOT/.venv/bin/python"
fi
PYTHON=${PYTHON:-python}
"$PYTHON" -c 'import torch' 2>/dev/null || {
  echo "$(basename "$0"): $PYTHON cannot import torch: activate the environment (source .venv/bin/activate, made by make env) or set PYTHON=/path/to/python." >&2; exit 1; }

export PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH
exec "$PYTHON" "$(dirname "$0")/torchrun.py" \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
