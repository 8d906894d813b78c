#!/usr/bin/env bash
# Start SCRIPT (a python file) as GPUS processes with torchrun, for the launchers
# tools/dist_train.sh and tools/benchmarks/{mmdet,mmseg}/dist_train.sh.
#
#   bash tools/torchrun.sh SCRIPT GPUS [script arguments]
#
# Multi-node: NNODES, NODE_RANK (0..NNODES-1), MASTER_ADDR (node 0) and PORT, alike on
# every node. PYTHON overrides the interpreter; else the project venv (make setup), else
# whatever python is on PATH.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: [NNODES=1] [NODE_RANK=0] [PORT=29500] [MASTER_ADDR=127.0.0.1] bash $0 SCRIPT GPUS [script arguments]" >&2
    exit 2
fi
SCRIPT=$1
GPUS=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/python_env.sh
source "$ROOT/tools/python_env.sh"
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$GPUS" \
    "$SCRIPT" "$@"
