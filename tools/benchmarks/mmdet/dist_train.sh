#!/usr/bin/env bash
# Fine-tune a pre-trained backbone with an mmdet benchmark config, GPUS processes (torchrun).
#
#   bash tools/benchmarks/mmdet/dist_train.sh CONFIG PRETRAIN GPUS [--work-dir DIR] [--cfg-options ...]
#
# PRETRAIN: a checkpoint written by tools/train.py (its backbone is extracted into the work
# dir first) or a backbone file from tools/model_converters/. On a machine without CUDA the
# processes use gloo and SyncBN becomes BN (with a warning). Multi-node: NNODES, NODE_RANK,
# MASTER_ADDR and PORT as for tools/dist_train.sh.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: bash $0 CONFIG PRETRAIN GPUS [tools/benchmarks/train.py options]" >&2
    exit 2
fi
CONFIG=$1
PRETRAIN=$2
GPUS=$3
shift 3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
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
    "$ROOT/tools/benchmarks/train.py" "$CONFIG" "$PRETRAIN" --launcher pytorch --scope mmdet "$@"
