#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh needs on a GPU machine that has CuPy but no package index:
# wheels of the pure-Python packages a GPU image usually lacks (Hydra and its config parser, pooch, at
# the pinned versions) and the MNIST files. Writes .gpu/ (ignored by git); copy it with the
# checkout and gpu_check.sh installs the wheels into .gpu/site and reads .gpu/data.
# GPU_PACK names another folder (for both scripts).
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=${GPU_PACK:-.gpu}
PYTHON=${PYTHON:-python3}
DATA=${MLP_BENCH_DATA_DIR:-../shared/data}
if [ ! -d "$DATA/mnist" ]; then
  echo "gpu_pack: no MNIST folder at $DATA/mnist: set MLP_BENCH_DATA_DIR to the folder holding mnist/" >&2
  exit 2
fi
pins=$(grep -E '^(hydra-core|omegaconf|antlr4-python3-runtime|pooch|platformdirs|packaging)==' requirements.lock)
rm -rf "$PACK.new"
mkdir -p "$PACK.new/wheels" "$PACK.new/data"
# pure Python, so one wheel serves any Python 3 and any platform (antlr4's is built from its sdist)
# shellcheck disable=SC2086
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$PACK.new/wheels" $pins
cp -RL "$DATA/mnist" "$PACK.new/data/mnist"
rm -rf "$PACK" && mv "$PACK.new" "$PACK"
echo "gpu_pack: wrote $PACK/ ($(du -sh "$PACK" | cut -f1)): $(cd "$PACK/wheels" && ls | tr '\n' ' ')"
