#!/usr/bin/env bash
# Train a linear classifier on a frozen pre-trained backbone with an mmpretrain benchmark
# config (configs/benchmarks/mmpretrain/), GPUS processes (torchrun).
#
#   bash tools/benchmarks/mmpretrain/dist_train.sh CONFIG PRETRAIN GPUS [--work-dir DIR] [--cfg-options ...]
#
# PRETRAIN: a checkpoint written by tools/train.py (its backbone is extracted into the work
# dir first) or a backbone file from tools/model_converters/. On a machine without CUDA the
# processes use gloo. Multi-node: NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT as for
# tools/dist_train.sh.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: bash $0 CONFIG PRETRAIN GPUS [tools/benchmarks/train.py options]" >&2
    exit 2
fi
CONFIG=$1
PRETRAIN=$2
GPUS=$3
shift 3
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
exec bash "$ROOT/tools/torchrun.sh" "$ROOT/tools/benchmarks/train.py" "$GPUS" "$CONFIG" "$PRETRAIN" \
    --launcher pytorch --scope mmpretrain "$@"
