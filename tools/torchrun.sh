#!/usr/bin/env bash
# Start SCRIPT (a python file) as GPUS processes with torchrun, for the launchers
# tools/dist_train.sh and tools/benchmarks/{mmdet,mmseg}/dist_train.sh.
#
#   bash tools/torchrun.sh SCRIPT GPUS [script arguments]
#
# Multi-node: NNODES, NODE_RANK (0..NNODES-1), MASTER_ADDR (node 0) and MASTER_PORT (or
# PORT), alike on every node. A node waits RDZV_TIMEOUT seconds (600) for the others, then
# stops with a message. PYTHON overrides the interpreter; else the project venv (make setup),
# else whatever python is on PATH.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: [NNODES=1] [NODE_RANK=0] [MASTER_PORT=29500] [MASTER_ADDR=127.0.0.1] [RDZV_TIMEOUT=600] bash $0 SCRIPT GPUS [script arguments]" >&2
    exit 2
fi
SCRIPT=$1
GPUS=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
# torch's own name first; PORT is the older name our docs used.
MASTER_PORT=${MASTER_PORT:-${PORT:-29500}}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
RDZV_TIMEOUT=${RDZV_TIMEOUT:-600}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tools/python_env.sh
source "$ROOT/tools/python_env.sh"
if [ "$NNODES" -gt 1 ]; then
    echo "[mmdense] node $NODE_RANK of $NNODES: waiting up to $RDZV_TIMEOUT s for the other nodes at $MASTER_ADDR:$MASTER_PORT" >&2
fi
status=0
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$MASTER_PORT" \
    --rdzv_conf="timeout=$RDZV_TIMEOUT" \
    --nproc_per_node="$GPUS" \
    "$SCRIPT" "$@" || status=$?
if [ "$status" -ne 0 ]; then
    echo "[mmdense] $(basename "$SCRIPT") failed with exit status $status on node $NODE_RANK." >&2
    if [ "$status" -eq 2 ]; then
        echo "[mmdense] A rank stopped on a config or checkpoint mistake: its 'error:' line above says which key or file and the fix." >&2
    elif [ "$NNODES" -gt 1 ]; then
        echo "[mmdense] If the nodes never met, check that every node runs this command with the same NNODES, MASTER_ADDR and MASTER_PORT, and that node 0 ($MASTER_ADDR) accepts connections on port $MASTER_PORT." >&2
    fi
fi
exit "$status"
