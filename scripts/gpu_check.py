"""GPU check: CuPy against NumPy on identical weights, the timed MNIST GPU fit, then the
harness's mnist_gpu experiment (with PyTorch on the GPU beside the MLP when it can run there).

Run through `scripts/gpu_check.sh` on a machine with a CUDA GPU. Prints the setup and short
tables; exits 2 when no GPU is usable, 1 when CuPy disagrees with NumPy beyond float32
tolerance or a harness run fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.data import load_dataset
from mlp_impl import NN, Adam, Dense, get_backend, gpu_status

MNIST_LAYERS = ((512, "relu"), (128, "relu"), (64, "relu"), (10, "softmax"))


def mnist_net(backend: str, dtype: str, seed: int = 0) -> NN:
    """The article's MNIST network (784-512-128-64-10, Adam, categorical cross-entropy)."""
    layers = [Dense(units, activation=act) for units, act in MNIST_LAYERS]
    return NN(layers=layers, loss="categorical_crossentropy", optimizer=Adam(), dtype=dtype,
              seed=seed, backend=backend, sampling="sequential")


def agreement(ds, dtype: str, rows: int, epochs: int) -> tuple[float, float]:
    """Largest relative difference of per-epoch losses and of final weights, CuPy vs NumPy."""
    x, y = ds.x_train[:rows], ds.y_train[:rows]
    nets = {b: mnist_net(b, dtype) for b in ("numpy", "cupy")}
    losses = {b: np.asarray(n.fit(x, y, epochs, 0.01, 1000, include_logs=False)) for b, n in nets.items()}
    loss_diff = float(np.max(np.abs(losses["cupy"] - losses["numpy"]) / np.abs(losses["numpy"])))
    weight_diff = 0.0
    for a, b in zip(nets["numpy"].get_weights(), nets["cupy"].get_weights()):
        scale = max(float(np.max(np.abs(a))), 1e-12)
        weight_diff = max(weight_diff, float(np.max(np.abs(a - b))) / scale)
    return loss_diff, weight_diff


def timed_fits(ds, repeats: int) -> list[tuple[float, int]]:
    """Fit seconds (device synchronized) and test misclassified for the article setup, 10 epochs."""
    backend = get_backend("cupy")
    out = []
    for seed in range(repeats):
        net = mnist_net("cupy", "float32", seed)
        net.fit(ds.x_train[:2000], ds.y_train[:2000], 1, 0.01, 1000, include_logs=False)  # warm-up
        net = mnist_net("cupy", "float32", seed)
        backend.synchronize()
        start = time.perf_counter()
        net.fit(ds.x_train, ds.y_train, 10, 0.01, 1000, include_logs=False)
        backend.synchronize()
        seconds = time.perf_counter() - start
        out.append((seconds, int(net.evaluate(ds.x_test, ds.y_test)["misclassified"])))
    return out


def torch_on_gpu() -> bool:
    """Whether PyTorch is installed and sees a CUDA device (then it joins the harness run)."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch
    return bool(torch.cuda.is_available())


def run_experiment(runs: int, impls: list[str]) -> int:
    """The harness's own mnist_gpu experiment, so its records are exercised too; prints the
    median fit time and mean misclassified of each implementation from its runs.csv."""
    out = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    cmd = [sys.executable, "-m", "harness", "+experiment=mnist_gpu", f"runs={runs}",
           f"impls=[{','.join(impls)}]", f"hydra.run.dir={out}", "quiet=true", "report=false"]
    print("$", " ".join(cmd), flush=True)
    code = subprocess.call(cmd)
    if (out / "runs.csv").exists():
        print(summary(out / "runs.csv").round(3).to_string())
    return code


def summary(runs_csv: Path) -> "pd.DataFrame":
    """Per implementation: runs, ok runs, median fit and first-epoch seconds, mean misclassified."""
    table = pd.read_csv(runs_csv).groupby("impl").agg(
        runs=("seed", "size"), ok=("status", lambda s: int((s == "ok").sum())),
        fit_s_median=("fit_seconds", "median"), first_epoch_s=("first_epoch_seconds", "median"),
        misclassified_mean=("test_misclassified", "mean"))
    return table


def describe_setup() -> None:
    """Which Python, NumPy and data folder this check uses: what a report of it needs."""
    cupy = importlib.util.find_spec("cupy")
    print(f"python {platform.python_version()} ({sys.executable}), numpy {np.__version__}, "
          f"cupy {'installed' if cupy else 'not installed'}, "
          f"data {os.environ.get('MLP_BENCH_DATA_DIR') or 'the download cache'}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-harness", action="store_true")
    args = parser.parse_args()
    describe_setup()
    usable, reason = gpu_status()
    if not usable:
        print(f"no usable GPU: {reason}", file=sys.stderr)
        return 2
    print(f"GPU: {get_backend('cupy').device_name()}")
    ds = load_dataset("mnist")
    rows = [("check", "value", "limit", "verdict")]
    failed = False
    for dtype, limit in (("float64", 1e-9), ("float32", 2e-3)):
        loss_diff, weight_diff = agreement(ds, dtype, rows=5000, epochs=2)
        for what, value in (("loss", loss_diff), ("weights", weight_diff)):
            ok = value <= limit
            failed |= not ok
            rows.append((f"cupy vs numpy {what} {dtype}", f"{value:.2e}", f"{limit:.0e}", "ok" if ok else "FAIL"))
    fits = timed_fits(ds, args.repeats)
    median = statistics.median(s for s, _ in fits)
    rows.append(("mnist fit 10 epochs (median s)", f"{median:.3f}", "0.5", "ok" if median < 0.5 else "slow"))
    rows.append(("mnist misclassified (mean)", f"{np.mean([m for _, m in fits]):.1f}", "-", "-"))
    width = max(len(r[0]) for r in rows)
    for row in rows:
        print(f"{row[0]:<{width}}  {row[1]:>10}  {row[2]:>6}  {row[3]}")
    code = 0 if args.skip_harness else run_experiment(args.repeats, ["mlp", "torch"] if torch_on_gpu() else ["mlp"])
    return 1 if failed or code else 0


if __name__ == "__main__":
    sys.exit(main())
