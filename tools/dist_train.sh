#!/usr/bin/env bash
# Train with torchrun: GPUS processes on this node (one per GPU; on a CPU-only machine
# the processes share the CPU and communicate over gloo).
#
#   bash tools/dist_train.sh CONFIG GPUS [tools/train.py options]
#
# Multi-node: run the same command on every node with NNODES, NODE_RANK (0..NNODES-1),
# MASTER_ADDR (address of node 0) and PORT set alike, e.g.
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash tools/dist_train.sh CONFIG 8
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: [NNODES=1] [NODE_RANK=0] [PORT=29500] [MASTER_ADDR=127.0.0.1] bash $0 CONFIG GPUS [train.py options]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# PYTHON overrides; else the project venv (make setup), else whatever python is on PATH.
if [ -z "${PYTHON:-}" ]; then
    VENV=${MMDENSE_VENV:-$ROOT/.venv}
    if [ -x "$VENV/bin/python" ]; then PYTHON=$VENV/bin/python; else PYTHON=python; fi
fi

export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$GPUS" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "$@"
