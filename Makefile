# Entry points: `make demo` (set up, then train the CPU demo), `make test`.
# The virtual environment defaults to ./.venv; point MMDENSE_VENV (or VENV) elsewhere
# to share one between clones.
VENV ?= $(or $(MMDENSE_VENV),.venv)
PYTHON := $(VENV)/bin/python
# Per-test limit (pytest-timeout): the slowest test trains a few CPU iterations in
# two processes; a hung collective should fail the run rather than stall it.
TEST_TIMEOUT ?= 600
PYTEST_ARGS ?=

.PHONY: setup test demo clean

# setup_env.sh is idempotent: it exits at once when the stamp in the venv matches the
# requirement files, and reuses the cached mmcv wheel otherwise.
setup:
	MMDENSE_VENV=$(abspath $(VENV)) bash tools/setup/setup_env.sh

test: setup
	$(PYTHON) -m pytest tests -q -p no:cacheprovider --timeout=$(TEST_TIMEOUT) $(PYTEST_ARGS)

# Pre-train DenseCL, MoCo v2 and PixPro with 3 seeds, probe them and random init, fine-tune
# FCN-R18 from each; table, verdict and plot in work_dirs/demo/ (docs/demo.md).
# DEMO_ARGS=--quick for the 1-minute check, DEMO_ARGS=--long for the hour-long demo.
DEMO_ARGS ?=
demo: setup
	$(PYTHON) tools/demo.py $(DEMO_ARGS)

# Generated files only (training outputs, demo images, build leftovers); the venv and
# the mmcv wheel cache survive: `rm -rf .venv` resets the environment.
clean:
	rm -rf work_dirs data/demo data/demo_byol build dist *.egg-info .pytest_cache
	find mmdense tools tests configs -name __pycache__ -type d -prune -exec rm -rf {} +
