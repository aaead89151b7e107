"""scripts/gpu_check.sh and gpu_pack.sh: the GPU check's plumbing, which runs without a GPU.

The check itself needs CUDA (CI has none); what is tested here is everything around it: the
clear refusal without a GPU, where the data comes from, the offline install of a pack's
wheels, the summary of the harness's runs and gpu_pack's refusal of a missing data folder.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT

CHECK = REPO_ROOT / "scripts" / "gpu_check.sh"
PACK = REPO_ROOT / "scripts" / "gpu_pack.sh"


def run_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    """gpu_check.sh with CUDA hidden, so it stops at the GPU test whatever this machine has."""
    base = {k: v for k, v in os.environ.items() if k not in ("MLP_BENCH_DATA_DIR", "GPU_PACK", "PYTHONPATH")}
    return subprocess.run(["bash", str(CHECK)], env={**base, "CUDA_VISIBLE_DEVICES": "", **env},
                          capture_output=True, text=True, timeout=300)


def test_check_without_a_gpu_says_why_and_exits_2(tmp_path: Path, data_root: Path) -> None:
    result = run_check({"PY": sys.executable, "GPU_PACK": str(tmp_path / "none"),
                        "MLP_BENCH_DATA_DIR": str(data_root)})
    assert result.returncode == 2, result.stderr
    assert result.stdout.startswith(f"python {platform.python_version()} ({sys.executable})")
    assert f"data {data_root}" in result.stdout
    assert result.stderr.strip().startswith("no usable GPU: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_check_reads_the_packs_data_when_no_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "pack" / "data" / "mnist").mkdir(parents=True)
    result = run_check({"PY": sys.executable, "GPU_PACK": str(tmp_path / "pack")})
    assert result.returncode == 2, result.stderr
    assert result.stdout.rstrip().endswith(f"data {(tmp_path / 'pack' / 'data').resolve()}")


def fake_wheel(folder: Path, name: str) -> Path:
    """A minimal pure-Python wheel whose package `name` sets MARK = name."""
    wheel = folder / f"{name}-1.0-py3-none-any.whl"
    info = f"{name}-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(f"{name}/__init__.py", f"MARK = {name!r}\n")
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")
    return wheel


def test_check_installs_the_packs_wheels_offline_where_hydra_is_missing(tmp_path: Path) -> None:
    """A Python without Hydra (a GPU image's): the pack's wheels go into pack/site, with no index."""
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=120)
    bare = tmp_path / "venv" / "bin" / "python"
    pack = tmp_path / "pack"
    (pack / "wheels").mkdir(parents=True)
    fake_wheel(pack / "wheels", "hydra")
    result = run_check({"PY": str(bare), "GPU_PACK": str(pack), "PIP_NO_INDEX": "1"})
    assert (pack / "site" / "hydra" / "__init__.py").read_text() == "MARK = 'hydra'\n"
    # the bare venv has no NumPy either, so the check itself stops at its first import
    assert result.returncode != 0 and "numpy" in result.stderr


def load_check_module():
    spec = importlib.util.spec_from_file_location("gpu_check", REPO_ROOT / "scripts" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_summary_gives_each_implementations_medians_and_means(tmp_path: Path) -> None:
    runs = pd.DataFrame({
        "impl": ["mlp", "mlp", "mlp", "torch", "torch"],
        "seed": [0, 1, 2, 0, 1],
        "status": ["ok", "ok", "failed", "ok", "ok"],
        "fit_seconds": [0.30, 0.50, float("nan"), 1.0, 2.0],
        "first_epoch_seconds": [0.10, 0.20, float("nan"), 0.5, 0.7],
        "test_misclassified": [230, 240, float("nan"), 250, 260],
    })
    runs.to_csv(tmp_path / "runs.csv", index=False)
    table = load_check_module().summary(tmp_path / "runs.csv")
    assert list(table.columns) == ["runs", "ok", "fit_s_median", "first_epoch_s", "misclassified_mean"]
    assert table.loc["mlp"].tolist() == pytest.approx([3, 2, 0.4, 0.15, 235.0])
    assert table.loc["torch"].tolist() == pytest.approx([2, 2, 1.5, 0.6, 255.0])


def test_pack_refuses_a_missing_data_folder_before_writing(tmp_path: Path) -> None:
    env = {**os.environ, "MLP_BENCH_DATA_DIR": str(tmp_path / "missing"), "GPU_PACK": str(tmp_path / "pack")}
    result = subprocess.run(["bash", str(PACK)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"gpu_pack: no MNIST folder at {tmp_path / 'missing'}/mnist: "
                                     "set MLP_BENCH_DATA_DIR to the folder holding mnist/")
    assert not (tmp_path / "pack").exists() and not (tmp_path / "pack.new").exists()


def test_rehearsal_runs_every_step_but_the_device(tmp_path: Path, data_root: Path) -> None:
    """The whole check with NumPy standing in for the GPU: the one-step agreement of every
    algorithm component, the harness's experiments (timed as the table says), the report, the table."""
    from harness import algorithm
    from harness.records import read_records
    out = tmp_path / "check"
    result = subprocess.run(["bash", str(CHECK), "--rehearse", "--repeats", "2", "--out", str(out),
                             "model.epochs=1", "data.limit_train=2000", "data.limit_test=200"],
                            env={**os.environ, "PY": sys.executable, "MLP_BENCH_DATA_DIR": str(data_root),
                                 "GPU_PACK": str(tmp_path / "none")},
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout[result.stdout.index("check  "):]
    components = [c.name for c in algorithm.COMPONENTS if c.key != "dtype"]
    for label in ["article", "keras", *(f"keras + article {name}" for name in components)]:
        for dtype in ("float32", "float64"):
            assert f"one step {label} {dtype}" in table
    assert "FAIL" not in table and "numpy / device, float64 (article: 3.27)" in table
    reproduction = read_records(out / "mnist_gpu_float64")
    assert len(reproduction) == 2 and {r["dtype"] for r in reproduction} == {"float64"}
    assert all(algorithm.classify(r["settings"] | {"dtype": r["dtype"]}) == "article" for r in reproduction)
    assert {r["dtype"] for r in read_records(out / "mnist_gpu_float32")} == {"float32"}
    assert (out / "report" / "index.html").exists()
