#!/usr/bin/env bash
# Create or reuse the project virtual environment and install the pinned stack.
# Idempotent: a stamp holding the hash of the requirement files skips everything when
# nothing changed; the mmcv wheel (about 10 minutes to build on 2 cores) is cached in
# ${MMDENSE_CACHE:-~/.cache/mmdense} and reused across venvs and clones.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${MMDENSE_VENV:-$ROOT/.venv}
CACHE=${MMDENSE_CACHE:-$HOME/.cache/mmdense}
MMCV_VERSION=2.1.0
PY=${PYTHON:-python3}

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
if [ -f "$VENV/.mmdense-stamp" ] && [ "$(cat "$VENV/.mmdense-stamp")" = "$STAMP" ]; then
    echo "[setup] environment $VENV is up to date"
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtual environment $VENV"
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install -r "$ROOT/requirements/build.txt"
# torch first and alone, so nothing later resolves another build of it.
"${PIP[@]}" install torch==2.14.1 torchvision==0.29.1
"${PIP[@]}" install mmengine==0.10.7 numpy opencv-python

build_mmcv() {
    # mmcv 2.1.0 ships only as an sdist; build its CPU ops against our torch.
    local work
    work=$(mktemp -d)
    echo "[setup] building mmcv $MMCV_VERSION with ops (about 10 minutes on 2 cores), log: $work/build.log"
    "${PIP[@]}" download --no-build-isolation --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$work"
    tar -xzf "$work/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
    # torch >= 2.10 headers need C++20; mmcv forces c++14/17.
    grep -rl -- '-std=c++1' "$work/mmcv-$MMCV_VERSION/setup.py" | xargs sed -i 's/-std=c++1[47]/-std=c++20/g'
    (cd "$work/mmcv-$MMCV_VERSION" &&
        MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} FORCE_CUDA=0 \
        "$VENV/bin/python" -m pip wheel --no-build-isolation --no-deps -w "$work/dist" . >"$work/build.log" 2>&1) || {
        tail -n 50 "$work/build.log"; echo "[setup] mmcv build failed, full log: $work/build.log"; exit 1; }
    mkdir -p "$CACHE"
    # Write the cache entry atomically so an interrupted build never leaves a broken wheel.
    local whl
    whl=$(ls "$work"/dist/mmcv-*.whl)
    cp "$whl" "$CACHE/.tmp-$(basename "$whl")" && mv "$CACHE/.tmp-$(basename "$whl")" "$CACHE/$(basename "$whl")"
    rm -rf "$work"
}
if ! "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
    ls "$CACHE"/mmcv-$MMCV_VERSION-*.whl >/dev/null 2>&1 || build_mmcv
    "${PIP[@]}" install --no-deps "$(ls "$CACHE"/mmcv-$MMCV_VERSION-*.whl | head -n1)"
    "${PIP[@]}" install addict yapf pyyaml Pillow packaging
fi
"${PIP[@]}" install -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"
if [ -f "$ROOT/setup.py" ]; then
    "${PIP[@]}" install --no-build-isolation --no-deps -e "$ROOT"
fi
"$VENV/bin/python" -c "import torch, mmcv, mmcv.ops, mmengine, mmdet, mmseg; print('[setup] torch', torch.__version__, 'mmcv', mmcv.__version__, 'mmdet', mmdet.__version__, 'mmseg', mmseg.__version__)"
echo "$STAMP" >"$VENV/.mmdense-stamp"
