#!/usr/bin/env bash
# Fine-tune a pre-trained backbone with an mmdet benchmark config, GPUS processes (torchrun).
#
#   bash tools/benchmarks/mmdet/dist_train.sh CONFIG PRETRAIN GPUS [--work-dir DIR] [--cfg-options ...]
#
# PRETRAIN: a checkpoint written by tools/train.py (its backbone is extracted into the work
# dir first) or a backbone file from tools/model_converters/. On a machine without CUDA the
# processes use gloo and SyncBN becomes BN (with a warning). Multi-node: NNODES, NODE_RANK,
# MASTER_ADDR and MASTER_PORT as for tools/dist_train.sh.
set -euo pipefail
exec bash "$(cd "$(dirname "$0")/.." && pwd)/dist_train.sh" mmdet "$@"
