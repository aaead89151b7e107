"""GPU check: the article's GPU comparison in one call.

1. CuPy against NumPy on identical weights: one training step of the article's algorithm, of
   Keras's, and of Keras's with each component of the article's switched in, in float32 and float64.
2. The harness's own experiments: `mnist_gpu` (the article's algorithm in float64, its
   reproduction, then float32 beside it), `mnist_cpu` (the same on NumPy, for the NumPy/CuPy
   speed-up the article reported as 3.27) and Keras and PyTorch on the device where they can use it
   (the CuPy/Keras ratio the article reported as about 1.9).
3. The report over those runs (verdicts included), and a short table.

Run through `scripts/gpu_check.sh`. `--rehearse` lets NumPy stand in for the device, so every step
but the device itself is proved on any machine (the tests do this). Exits 2 when no GPU is usable
(saying why), 1 when CuPy disagrees with NumPy or a run fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import algorithm

TOLERANCE = {"float64": 1e-9, "float32": 2e-3}  # largest weight difference after one step, relative to the weights
TARGET_FIT_SECONDS = 0.5  # MNIST article setup, 10 epochs, float32, on one current data-centre GPU


def cells() -> list[tuple[str, list[str]]]:
    """(label, overrides) of each algorithm checked: both references and each article component alone."""
    out = [("article", algorithm.overrides("article")), ("keras", algorithm.overrides("keras"))]
    for c in algorithm.COMPONENTS:
        if c.key != "dtype":  # the dtype is every cell's second axis
            out.append((f"keras + article {c.name}", algorithm.overrides("keras", (c.name,))))
    return out


def composed(overrides: list[str]) -> Any:
    """The mnist_gpu config with `overrides`, as the harness composes it."""
    from hydra import compose, initialize_config_dir

    import harness.config  # noqa: F401  (registers the schema)
    from harness.precheck import CONF_DIR
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=["+experiment=mnist_gpu", *overrides])


def one_step_difference(cfg: Any, ds: Any, device: str) -> float:
    """Largest weight difference, relative to the weights' scale, after one training step on NumPy
    and on `device` from identical initial weights and the same minibatch."""
    from omegaconf import OmegaConf

    from experiments.models.mlp_model import build_network
    from experiments.models.spec import spec_from_config
    spec = spec_from_config(OmegaConf.to_container(cfg.model, resolve=True))
    rows = spec.batch_size  # one batch: one step, whatever the sampler
    weights = {}
    for backend in ("numpy", device):
        net = build_network(spec, ds.n_features, seed=0, dtype=cfg.dtype, backend=backend, sampling=cfg.sampling)
        net.fit(ds.x_train[:rows], ds.y_train[:rows], epochs=1, learning_rate=spec.learning_rate, sample_size=rows)
        weights[backend] = net.get_weights()
    worst = 0.0
    for a, b in zip(weights["numpy"], weights[device]):
        worst = max(worst, float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(a))), 1e-12))
    return worst


def agreement_rows(ds: Any, device: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for label, overrides in cells():
        for dtype, limit in TOLERANCE.items():
            diff = one_step_difference(composed([*overrides, f"dtype={dtype}"]), ds, device)
            rows.append((f"one step {label} {dtype}", f"{diff:.1e}", f"{limit:.0e}", "ok" if diff <= limit else "FAIL"))
    return rows


def harness_runs(out: Path, device: str, runs: int, extra: list[str]) -> dict[str, tuple[Path, int]]:
    """The experiments of the comparison, each into its own folder; {name: (folder, exit code)}."""
    peers = [p for p in ("keras", "torch") if importlib.util.find_spec({"keras": "tensorflow"}.get(p, p))]
    plan = {
        "mnist_gpu_float64": ["+experiment=mnist_gpu", f"backend={device}", f"runs={runs}"],
        "mnist_gpu_float32": ["+experiment=mnist_gpu", f"backend={device}", f"runs={runs}", "dtype=float32"],
        "mnist_cpu": ["+experiment=mnist_cpu", "runs=1"],
    }
    if peers:
        # the article's pairing: its MLP (mnist_gpu's own algorithm) against Keras with Keras's, one experiment
        # backend=cupy needs a GPU implementation among them (torch); Keras goes where TensorFlow puts it
        backend = device if "torch" in peers else "numpy"
        plan["peers_on_device"] = ["+experiment=mnist_gpu", f"impls=[{','.join(peers)}]", "algorithm=keras",
                                   f"backend={backend}", f"runs={runs}"]
    done = {}
    for name, overrides in plan.items():
        folder = out / name
        cmd = [sys.executable, "-m", "harness", *overrides, *extra, f"hydra.run.dir={folder}", "quiet=true",
               "report=false"]
        print("$", " ".join(cmd[1:]), flush=True)
        done[name] = (folder, subprocess.call(cmd))
    return done


def summary(runs_csv: Path) -> pd.DataFrame:
    """Per implementation: runs, ok runs, median fit and first-epoch seconds, mean misclassified."""
    return pd.read_csv(runs_csv).groupby("impl").agg(
        runs=("seed", "size"), ok=("status", lambda s: int((s == "ok").sum())),
        fit_s_median=("fit_seconds", "median"), first_epoch_s=("first_epoch_seconds", "median"),
        misclassified_mean=("test_misclassified", "mean"))


def _median_fit(folder: Path, impl: str) -> float:
    table = summary(folder / "runs.csv") if (folder / "runs.csv").exists() else pd.DataFrame()
    return float(table.loc[impl, "fit_s_median"]) if impl in table.index else float("nan")


def comparison_rows(done: dict[str, tuple[Path, int]], device: str) -> list[tuple[str, str, str, str]]:
    """The article's GPU numbers beside ours: fit times, the NumPy/CuPy speed-up, CuPy/Keras."""
    folder = {name: path for name, (path, _) in done.items()}
    f64 = _median_fit(folder["mnist_gpu_float64"], "mlp")
    f32 = _median_fit(folder["mnist_gpu_float32"], "mlp")
    cpu = _median_fit(folder["mnist_cpu"], "mlp")
    rows = [(f"mlp on {device}, article algorithm, float64 (median s)", f"{f64:.3f}", "-", "-"),
            (f"mlp on {device}, article algorithm, float32 (median s)", f"{f32:.3f}", f"{TARGET_FIT_SECONDS}",
             "ok" if f32 < TARGET_FIT_SECONDS else "slow"),
            ("numpy / device, float64 (article: 3.27)", f"{cpu / f64:.2f}", "-", "-")]
    if "peers_on_device" in folder:
        keras = _median_fit(folder["peers_on_device"], "keras")
        rows.append(("device mlp float64 / keras (article: ~1.9)", f"{f64 / keras:.2f}", "-", "-"))
        rows.append(("device mlp float32 / keras", f"{f32 / keras:.2f}", "-", "-"))
    return rows


def build_report(done: dict[str, tuple[Path, int]], out: Path) -> int:
    """The report page over the check's runs (every folder counts: two of them are mnist_gpu)."""
    cmd = [sys.executable, "-m", "harness.report", *(str(p) for p, _ in done.values()), "--all-runs",
           "--out", str(out / "report")]
    return subprocess.call(cmd)


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    for row in [("check", "value", "limit", "verdict"), *rows]:
        print(f"{row[0]:<{width}}  {row[1]:>10}  {row[2]:>6}  {row[3]}", flush=True)


def describe_setup() -> None:
    """Which Python, NumPy and data folder this check uses: what a report of it needs."""
    cupy = importlib.util.find_spec("cupy")
    print(f"python {platform.python_version()} ({sys.executable}), numpy {np.__version__}, "
          f"cupy {'installed' if cupy else 'not installed'}, "
          f"data {os.environ.get('MLP_BENCH_DATA_DIR') or 'the download cache'}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="seeds per timed experiment (a median needs several)")
    parser.add_argument("--skip-harness", action="store_true", help="only the one-step agreement")
    parser.add_argument("--rehearse", action="store_true", help="NumPy stands in for the device (no GPU needed)")
    parser.add_argument("--out", default=None, help="folder for the runs and the report (default: a new temp folder)")
    parser.add_argument("overrides", nargs="*", help="extra harness overrides for every run (e.g. model.epochs=2)")
    args = parser.parse_args()
    describe_setup()
    device = "numpy" if args.rehearse else "cupy"
    if not args.rehearse:
        from mlp_impl import gpu_status
        usable, reason = gpu_status()
        if not usable:
            print(f"no usable GPU: {reason}", file=sys.stderr)
            return 2
        from mlp_impl import get_backend
        print(f"GPU: {get_backend('cupy').device_name()}")
    else:
        print("rehearsal: numpy stands in for the GPU")
    from experiments.data import load_dataset
    rows = agreement_rows(load_dataset("mnist", limit_train=2000, limit_test=100), device)
    failed = any(r[3] == "FAIL" for r in rows)
    if not args.skip_harness:
        out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="gpu_check_"))
        done = harness_runs(out, device, args.repeats, args.overrides)
        failed |= any(code for _, code in done.values())
        rows += comparison_rows(done, device)
        failed |= build_report(done, out) != 0
        print(f"runs and report: {out}")
    print_table(rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
