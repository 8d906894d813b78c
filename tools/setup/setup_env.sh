#!/usr/bin/env bash
# Create or reuse the project virtual environment and install the pinned stack.
# Idempotent: a stamp holding the hash of the requirement files skips everything when
# nothing changed; the mmcv wheel (about 10 minutes to build on 2 cores) is cached in
# ${MMDENSE_CACHE:-~/.cache/mmdense} and reused across venvs and clones.
#
# MMDENSE_SETUP_CHECK=1 rehearses a fresh machine cheaply (tests/test_tools/test_setup_cold_path.py
# runs it with a throwaway venv and an empty cache): the same steps in the same order, but each
# install of the stack only resolves (pip --dry-run --report) and then applies what it would
# change among the build tools of requirements/build.txt, and mmcv stops after its metadata
# step. A pin that a later install overrules fails there as it would on a fresh machine.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${MMDENSE_VENV:-$ROOT/.venv}
CACHE=${MMDENSE_CACHE:-$HOME/.cache/mmdense}
MMCV_VERSION=2.1.0
PY=${PYTHON:-python3}
CHECK=${MMDENSE_SETUP_CHECK:-0}

stamp_of() {
    local f
    # The repo path is part of the stamp: a venv shared through MMDENSE_VENV must
    # re-point its editable install when used from another clone.
    {
        echo "$ROOT"
        for f in "$ROOT"/requirements/*.txt "$ROOT/tools/setup/setup_env.sh" "$ROOT/setup.py"; do
            if [ -f "$f" ]; then cat "$f"; fi
        done
    } | sha256sum | cut -c1-16
}
STAMP=$(stamp_of)
if [ "$CHECK" != 1 ] && [ -f "$VENV/.mmdense-stamp" ] && [ "$(cat "$VENV/.mmdense-stamp")" = "$STAMP" ]; then
    echo "[setup] environment $VENV is up to date"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtual environment $VENV"
    "$PY" -m venv "$VENV"
fi
# Every pip call below, and any pip a build step starts, obeys one constraints file: a pin
# written only as a requirement can be overruled by a later install (torch asks for
# setuptools>=77.0.3 and would take 84, which has no pkg_resources).
export PIP_CONSTRAINT="$ROOT/requirements/constraints.txt"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

# `pip install "$@"`; in check mode, resolve only, then install the resolution's versions of
# the build tools (the packages build.txt names), which is what the later steps depend on.
pip_install() {
    if [ "$CHECK" != 1 ]; then
        "${PIP[@]}" install "$@"
        return
    fi
    local report tools
    report=$(mktemp)
    "${PIP[@]}" install --dry-run --report "$report" "$@"
    tools=$("$VENV/bin/python" "$ROOT/tools/setup/build_tools_in_report.py" \
        "$report" "$ROOT/requirements/build.txt")
    rm -f "$report"
    if [ -n "$tools" ]; then
        echo "[setup] check: this step would install" $tools
        # shellcheck disable=SC2086
        "${PIP[@]}" install --no-deps $tools
    fi
}

"${PIP[@]}" install -r "$ROOT/requirements/build.txt"
# torch first and alone, so nothing later resolves another build of it.
pip_install torch==2.14.1 torchvision==0.29.1
pip_install mmengine==0.10.7 numpy opencv-python

build_mmcv() {
    # mmcv 2.1.0 ships only as an sdist; build its CPU ops against our torch.
    local work
    work=$(mktemp -d)
    # The metadata step runs mmcv's setup.py with the venv's setuptools (it imports pkg_resources).
    "${PIP[@]}" download --no-build-isolation --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$work"
    if [ "$CHECK" = 1 ]; then
        echo "[setup] check: mmcv $MMCV_VERSION metadata step passed"
        rm -rf "$work"
        return
    fi
    echo "[setup] building mmcv $MMCV_VERSION with ops (about 10 minutes on 2 cores), log: $work/build.log"
    tar -xzf "$work/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
    # torch >= 2.10 headers need C++20; mmcv forces c++14/17.
    grep -rl -- '-std=c++1' "$work/mmcv-$MMCV_VERSION/setup.py" | xargs sed -i 's/-std=c++1[47]/-std=c++20/g'
    (cd "$work/mmcv-$MMCV_VERSION" &&
        MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} FORCE_CUDA=0 \
        "$VENV/bin/python" -m pip wheel --no-build-isolation --no-deps -w "$work/dist" . >"$work/build.log" 2>&1) &
    local pid=$! start=$SECONDS last=$SECONDS status=0
    # The build prints nothing for minutes: every 30 s, the elapsed time and the objects
    # compiled out of those ninja was asked for.
    while kill -0 "$pid" 2>/dev/null; do
        sleep 5
        if (( SECONDS - last >= 30 )); then
            last=$SECONDS
            local ninja total done_
            ninja=$(find "$work/mmcv-$MMCV_VERSION/build" -name build.ninja 2>/dev/null | head -n1)
            total=$(grep -c '^build .*\.o:' "$ninja" 2>/dev/null || true)
            done_=$(find "$work/mmcv-$MMCV_VERSION/build" -name '*.o' 2>/dev/null | wc -l)
            echo "[setup] mmcv build: $((SECONDS - start)) s, $done_ of ${total:-?} objects compiled"
        fi
    done
    wait "$pid" || status=$?
    if [ "$status" -ne 0 ]; then
        tail -n 50 "$work/build.log"; echo "[setup] mmcv build failed, full log: $work/build.log"; exit 1
    fi
    echo "[setup] mmcv built in $((SECONDS - start)) s"
    mkdir -p "$CACHE"
    # Write the cache entry atomically so an interrupted build never leaves a broken wheel.
    local whl
    whl=$(ls "$work"/dist/mmcv-*.whl)
    cp "$whl" "$CACHE/.tmp-$(basename "$whl")" && mv "$CACHE/.tmp-$(basename "$whl")" "$CACHE/$(basename "$whl")"
    rm -rf "$work"
}
if [ "$CHECK" = 1 ]; then
    build_mmcv
    pip_install addict yapf pyyaml Pillow packaging
elif ! "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
    ls "$CACHE"/mmcv-$MMCV_VERSION-*.whl >/dev/null 2>&1 || build_mmcv
    "${PIP[@]}" install --no-deps "$(ls "$CACHE"/mmcv-$MMCV_VERSION-*.whl | head -n1)"
    "${PIP[@]}" install addict yapf pyyaml Pillow packaging
fi
pip_install -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"
if [ -f "$ROOT/setup.py" ]; then
    pip_install --no-build-isolation --no-deps -e "$ROOT"
fi
if [ "$CHECK" = 1 ]; then
    echo "[setup] check: every step resolved and mmcv's metadata step ran; a fresh machine would reach the mmcv compile"
    exit 0
fi
"$VENV/bin/python" -c "import torch, mmcv, mmcv.ops, mmengine, mmdet, mmseg, mmpretrain; print('[setup] torch', torch.__version__, 'mmcv', mmcv.__version__, 'mmdet', mmdet.__version__, 'mmseg', mmseg.__version__, 'mmpretrain', mmpretrain.__version__)"
echo "$STAMP" >"$VENV/.mmdense-stamp"
