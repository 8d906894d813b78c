#!/usr/bin/env bash
# Shared body of tools/benchmarks/{mmdet,mmseg,mmpretrain}/dist_train.sh: run
# tools/benchmarks/train.py under torchrun for the downstream package SCOPE.
#
#   bash tools/benchmarks/dist_train.sh SCOPE CONFIG PRETRAIN GPUS [tools/benchmarks/train.py options]
set -euo pipefail

SCOPE=$1
shift
if [ $# -lt 3 ]; then
    echo "usage: bash tools/benchmarks/$SCOPE/dist_train.sh CONFIG PRETRAIN GPUS [tools/benchmarks/train.py options]" >&2
    exit 2
fi
CONFIG=$1
PRETRAIN=$2
GPUS=$3
shift 3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
exec bash "$ROOT/tools/torchrun.sh" "$ROOT/tools/benchmarks/train.py" "$GPUS" "$CONFIG" "$PRETRAIN" \
    --launcher pytorch --scope "$SCOPE" "$@"
