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
exec bash "$(cd "$(dirname "$0")/.." && pwd)/dist_train.sh" mmpretrain "$@"
