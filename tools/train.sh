#!/usr/bin/env bash
# tools/train.sh CONFIG GPUS [train.py args]: torchrun on this node, or on several through
# NNODES, NODE_RANK, MASTER_ADDR and PORT (as mmseg's dist_train.sh). Without CUDA, GPUS is
# the number of CPU processes (gloo). tools/torchrun.py is torchrun that relays SIGUSR1 too and
# exits with 128 + the signal that stopped it (docs/troubleshooting.md).
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

export PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH
exec "$PYTHON" "$(dirname "$0")/torchrun.py" \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
