#!/usr/bin/env bash
# One command for a GPU machine: install the CuPy extra, check CuPy against NumPy on identical
# weights, then time the mnist_gpu experiment and print a short table. Exits non-zero on a
# disagreement or when no GPU is usable (saying why).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
if [ ! -x "$PY" ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c requirements.lock -e ".[gpu,test]"
fi
"$PY" -c "import cupy" 2>/dev/null || "$PY" -m pip install --quiet -c requirements.lock -e ".[gpu]"
export MLP_BENCH_DATA_DIR=${MLP_BENCH_DATA_DIR:-$(cd ../shared/data 2>/dev/null && pwd || echo "$PWD/data")}
"$PY" scripts/gpu_check.py "$@"
