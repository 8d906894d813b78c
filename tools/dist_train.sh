#!/usr/bin/env bash
# Train with torchrun: GPUS processes on this node (one per GPU; on a CPU-only machine
# the processes share the CPU and communicate over gloo).
#
#   bash tools/dist_train.sh CONFIG GPUS [tools/train.py options]
#
# Multi-node: run the same command on every node with NNODES, NODE_RANK (0..NNODES-1),
# MASTER_ADDR (address of node 0) and MASTER_PORT (or PORT) set alike, e.g.
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash tools/dist_train.sh CONFIG 8
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: [NNODES=1] [NODE_RANK=0] [MASTER_PORT=29500] [MASTER_ADDR=127.0.0.1] bash $0 CONFIG GPUS [train.py options]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
exec bash "$ROOT/tools/torchrun.sh" "$ROOT/tools/train.py" "$GPUS" "$CONFIG" --launcher pytorch "$@"
