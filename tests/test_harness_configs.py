"""Every experiment config composes and validates; smoke runs end to end with complete records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import harness.config  # noqa: F401  (registers the schema)
from harness.precheck import CONF_DIR, experiment_names
from harness.records import RECORD_FIELDS, read_records
from harness.validate import make_plan

EXPERIMENTS = ["ablation_mnist", "ablation_titanic", "drujba_linreg", "mnist_cpu", "mnist_gpu", "mnist_vs_tf", "smoke", "titanic_adam",
               "titanic_sgd", "titanic_vs_tf", "titanic_vs_tf_article"]
ARTICLE = {  # experiment: (impls, seeds, optimizer, learning_rate, batch_size, epochs)
    "titanic_sgd": (["mlp"], 20, "sgd", 0.001, 150, 1000),
    "titanic_adam": (["mlp"], 20, "adam", 0.02, 100, 1000),
    "titanic_vs_tf": (["mlp", "mlp_fused", "keras", "keras_tuned", "torch", "torch_compiled", "sklearn"], 10, "adam", 0.01, 100, 1000),
    "titanic_vs_tf_article": (["mlp"], 10, "adam", 0.01, 100, 1000),
    "mnist_cpu": (["mlp"], 1, "adam", 0.01, 1000, 10),
    "mnist_vs_tf": (["mlp", "mlp_fused", "keras", "keras_tuned", "torch", "torch_compiled", "sklearn"], 5, "adam", 0.01, 1000, 10),
    "drujba_linreg": (["linreg"], 5, "sgd", None, None, 50),  # 5 draws of the data: the bound's verdict needs 3
}


def composed(*overrides: str, hydra: bool = False):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=hydra)


def test_each_drujba_run_fits_its_own_draw_of_the_data(data_root: Path) -> None:
    """The article fitted one random draw; our runs fit one each (data.seed null: the run's seed),
    so the intercept's bound is judged over draws, not over five fits of the same points."""
    plan = make_plan(composed("+experiment=drujba_linreg"))
    assert plan.data_seed is None
    first, second = plan.dataset(plan.seeds[0]), plan.dataset(plan.seeds[1])
    assert not np.array_equal(first.y_train, second.y_train)


def test_the_experiment_list_is_complete() -> None:
    assert experiment_names() == EXPERIMENTS


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_with_header(name: str) -> None:
    cfg = composed(f"+experiment={name}")
    assert cfg.name == name
    text = (CONF_DIR / "experiment" / f"{name}.yaml").read_text()
    assert text.startswith("# @package _global_\n")
    assert f"python -m harness +experiment={name}" in text.splitlines()[1]
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


@pytest.mark.parametrize("name", sorted(ARTICLE))
def test_article_hyperparameters(name: str, data_root: Path) -> None:
    impls, runs, optimizer, lr, batch, epochs = ARTICLE[name]
    case = ["+vs_tf_case=keras"] if name.endswith("_vs_tf") else []  # their Keras-algorithm job
    cfg = composed(f"+experiment={name}", *case)
    plan = make_plan(cfg)
    assert [i.name for i in plan.impls] == impls and len(plan.seeds) == runs
    assert (plan.spec.optimizer, plan.spec.epochs) == (optimizer, epochs)
    if lr is not None:
        assert (plan.spec.learning_rate, plan.spec.batch_size) == (lr, batch)


@pytest.mark.parametrize("experiment, dataset, features", [("titanic_adam", "titanic_kaggle", 9),
                                                          ("titanic_vs_tf", "titanic_kaggle", 9)])
def test_dataset_alone_switches_the_data(experiment: str, dataset: str, features: int, data_root: Path) -> None:
    """The model takes its input width from the data: `dataset=` needs no second override."""
    plan = make_plan(composed(f"+experiment={experiment}", f"dataset={dataset}"))
    assert plan.dataset(plan.seeds[0]).n_features == features
    assert plan.spec.widths(features)[0] == features


def test_mnist_gpu_asks_for_cupy() -> None:
    assert composed("+experiment=mnist_gpu").backend == "cupy"


def test_smoke_sweeps_every_case() -> None:
    cfg = composed("+experiment=smoke", hydra=True)
    assert str(cfg.hydra.mode).endswith("MULTIRUN")
    assert set(str(cfg.hydra.sweeper.params["+smoke_case"]).split(",")) == {"titanic", "mnist", "drujba"}
    for case, dataset, impls in (("titanic", "titanic", {"mlp", "keras"}), ("mnist", "mnist", {"mlp", "keras"}),
                                 ("drujba", "drujba", {"linreg"})):
        job = composed("+experiment=smoke", f"+smoke_case={case}")
        assert job.data.name == dataset and set(job.impls) == impls


def test_smoke_end_to_end_records_every_field(tmp_path: Path, data_root: Path) -> None:
    """The real command line: three jobs, every record complete, status ok, then an exact rerun."""
    out = tmp_path / "smoke"
    env = {**os.environ, "MLP_BENCH_DATA_DIR": str(data_root), "MLP_BENCH_MEASURE_RATE": "1"}  # as a user runs it
    done = subprocess.run([sys.executable, "-m", "harness", "+experiment=smoke", f"hydra.run.dir={out}",
                           "report=false"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    jobs = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert jobs == ["0-titanic", "1-mnist", "2-drujba"]
    for job in jobs:
        records = read_records(out / job)
        assert records and all(r["status"] == "ok" for r in records)
        for record in records:
            raw = json.loads((out / job / "records" / f"{record['impl']}-{record['backend']}-seed{record['seed']}.json").read_text())
            assert list(raw) == list(RECORD_FIELDS)
            for field in ("experiment", "impl", "backend", "device", "seed", "layers", "fit_seconds",
                          "predict_seconds", "epoch_losses", "test_loss", "flops", "peak_memory_mb", "started_at",
                          "settings", "record_version"):
                assert raw[field] is not None, (job, record["impl"], field)
            config = OmegaConf.to_container(OmegaConf.load(out / job / "config.yaml"))
            assert raw["settings"]["model.epochs"] == config["model"]["epochs"]  # the record carries its settings
            assert "data.root" not in raw["settings"] and "seed" not in raw["settings"]
        env_json = json.loads((out / job / "environment.json").read_text())
        assert {"versions", "blas", "git", "command", "config", "cpu"} <= set(env_json)
        assert env_json["matmul_gflops_float32"] > 0 and {m["when"] for m in env_json["matmul_rate"]["measurements"]} \
            == {"before", "after"}
        assert (out / job / "config.yaml").exists() and (out / job / "runs.csv").exists()
    titanic = {r["impl"]: r for r in read_records(out / "0-titanic")}
    assert titanic["keras"]["first_epoch_seconds"] is not None
    assert titanic["mlp"]["article_error"] == 101 - titanic["mlp"]["predicted_positives"]
    assert read_records(out / "2-drujba")[0]["fitted_w"] is not None
    again = subprocess.run([sys.executable, "-m", "harness.rerun", str(out / "0-titanic"), "--into",
                            str(tmp_path / "again")], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "4 identical to the original except timings" in again.stdout
