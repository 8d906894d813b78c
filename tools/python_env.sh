# Sourced by the launchers (tools/torchrun.sh, tools/slurm_train.sh) with ROOT set to the
# repository: picks the interpreter and puts the repository on PYTHONPATH.
# PYTHON overrides the interpreter; else the project venv (make setup, or MMDENSE_VENV),
# else whatever python is on PATH.
if [ -z "${PYTHON:-}" ]; then
    VENV=${MMDENSE_VENV:-$ROOT/.venv}
    if [ -x "$VENV/bin/python" ]; then PYTHON=$VENV/bin/python; else PYTHON=python; fi
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
