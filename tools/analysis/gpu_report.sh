#!/usr/bin/env bash
# The prepared GPU report (docs/benchmarks.md, "GPU report"): one command on one H100/H200,
# at most about 8 minutes, one markdown table in work_dirs/gpu_report/report.md.
#
#   bash tools/analysis/gpu_report.sh                 # on the GPU machine
#   bash tools/analysis/gpu_report.sh --dry-run       # on a CPU: every part at toy sizes
#   bash tools/analysis/gpu_report.sh --out report.md --batch-sizes 64 256
#
# Arguments go to mmdense/analysis/gpu_report.py (python -m mmdense.analysis.gpu_report -h).
# A hard limit (GPU_REPORT_TIMEOUT seconds, default 480) stops the run rather than let it eat
# a lent machine's budget; the parts finished by then are lost, so size the options to fit.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-${MMDENSE_VENV:-.venv}/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python
exec timeout --signal=INT "${GPU_REPORT_TIMEOUT:-480}" \
    "$PYTHON" -c 'import sys; sys.path.insert(0, "."); from mmdense.analysis.gpu_report import main; main(sys.argv[1:])' "$@"
