#!/usr/bin/env bash
# The GPU check in one command: CuPy against NumPy on identical weights, the timed MNIST fit, and
# the harness's mnist_gpu experiment (PyTorch on the GPU beside it when it can run there), as a
# short table. Exits 2 when no GPU is usable (saying why), 1 on a disagreement or a failed run.
#
# Python: $PY, else .venv's when it has CuPy, else python3 when it has CuPy (a GPU image), else
# .venv with the gpu extra installed (that needs a package index).
# A GPU machine without a package index: run scripts/gpu_pack.sh (make gpu-pack) where pip works
# and copy .gpu/ along with the checkout; its wheels are installed into .gpu/site, its data read.
# Data: $MLP_BENCH_DATA_DIR, else the pack's data/, else ../shared/data, else the download cache.
set -euo pipefail
cd "$(dirname "$0")/.."
has() { "$1" -c "import $2" >/dev/null 2>&1; }
if [ -z "${PY:-}" ]; then
  if [ -x .venv/bin/python ] && has .venv/bin/python cupy; then
    PY=.venv/bin/python
  elif command -v python3 >/dev/null && has python3 cupy; then
    PY=python3
  else
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -c requirements.lock -e ".[gpu,peers,test]"
    PY=.venv/bin/python
  fi
fi
PACK=${GPU_PACK:-.gpu}  # the folder gpu_pack.sh wrote
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ -d "$PACK/wheels" ] && [ ! -d "$PACK/site" ] && ! has "$PY" hydra; then
  "$PY" -m pip install --quiet --no-index --no-deps --no-compile --target "$PACK/site" "$PACK"/wheels/*.whl
fi
if [ -d "$PACK/site" ]; then
  PYTHONPATH="$PYTHONPATH:$(cd "$PACK/site" && pwd)"
fi
if [ -z "${MLP_BENCH_DATA_DIR:-}" ]; then
  for folder in "$PACK/data" ../shared/data; do
    if [ -d "$folder" ]; then
      MLP_BENCH_DATA_DIR=$(cd "$folder" && pwd)
      export MLP_BENCH_DATA_DIR
      break
    fi
  done
fi
exec "$PY" scripts/gpu_check.py "$@"
