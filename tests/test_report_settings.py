"""A sweep's summary has one row per value of whatever setting it swept, and counts each seed once.

Job folders are laid out as Hydra writes them (records/ and the resolved config.yaml per job);
expected values are computed here from the synthetic numbers, not through the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats as scipy_stats

from harness.records import write_record
from harness.runs_table import load_runs
from harness.reporting import tables
from harness.reporting.settings import config_settings

CONFIG = {"name": "titanic_sgd", "impls": ["mlp", "keras"], "backend": "numpy", "sampling": "article", "runs": 2,
          "seed": None, "quiet": True, "data": {"name": "titanic", "root": "/data/a", "seed": 0},
          "model": {"learning_rate": 0.05, "momentum": 0.0, "backprop": "standard", "threads": None},
          "keras": {"deterministic": True}}


def _job(sweep: Path, job: int, config: dict, runs: list[dict]) -> None:
    """One job folder: its config.yaml and its records."""
    folder = sweep / str(job)
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    for run in runs:
        write_record(folder, dict(experiment="titanic_sgd", dataset="titanic", impl="mlp", backend="numpy",
                                  sampling="article", learning_rate=0.05, status="ok") | run)


def _with(key: str, value: object, **top: object) -> dict:
    section, name = key.split(".")
    return CONFIG | top | {section: CONFIG[section] | {name: value}}


def test_sweep_over_a_setting_only_in_config_gives_a_row_per_value(tmp_path: Path) -> None:
    accuracy = {"standard": [0.80, 0.82], "article": [0.70, 0.74]}
    for job, value in enumerate(accuracy):
        _job(tmp_path, job, _with("model.backprop", value),
             [dict(seed=s, test_accuracy=a, fit_seconds=1.0 + job) for s, a in enumerate(accuracy[value])])
    summary = tables.summary_table(load_runs([tmp_path]))
    assert list(summary["model.backprop"]) == ["article", "standard"]
    assert list(summary["n_runs"]) == [2, 2]
    assert list(summary["accuracy_mean"]) == pytest.approx([0.72, 0.81])
    assert list(summary["fit_seconds_median"]) == [2.0, 1.0]
    assert list(tables.display_table(summary)["model.backprop"]) == ["article", "standard"]


def test_values_keep_their_type_and_bookkeeping_does_not_split(tmp_path: Path) -> None:
    # A seed sweep (seed=0,1 per job) on different data folders: one setting, one row.
    for job in range(2):
        _job(tmp_path, job, _with("data.root", f"/data/{job}", seed=job), [dict(seed=job, test_accuracy=0.7)])
    assert list(tables.summary_table(load_runs([tmp_path]))["n_runs"]) == [2]
    momentum, threads = tmp_path / "momentum", tmp_path / "threads"
    for job, (m, t) in enumerate([(0.0, None), (0.9, 2)]):
        _job(momentum, job, _with("model.momentum", m), [dict(seed=0, test_accuracy=0.7)])
        _job(threads, job, _with("model.threads", t), [dict(seed=0, test_accuracy=0.7)])
    assert config_settings(load_runs([momentum])).to_dict("list") == {"model.momentum": [0.0, 0.9]}
    assert config_settings(load_runs([threads])).to_dict("list") == {"model.threads": ["null", "2"]}
    assert list(tables.summary_table(load_runs([threads]))["model.threads"]) == ["2", "null"]


def test_an_implementation_the_swept_value_does_not_change_counts_each_seed_once(tmp_path: Path) -> None:
    # sampling=article,shuffle with Keras: Keras shuffles in both jobs, so its two jobs ran the same
    # runs; the later job's (finished later) are kept, once per seed.
    # three seeds a job: the accuracy test needs stats.MIN_RUNS a group
    mlp_acc = {"article": [0.70, 0.74, 0.71], "shuffle": [0.76, 0.78, 0.77]}
    keras_acc = [[0.80, 0.84, 0.82], [0.81, 0.86, 0.83]]
    for job, sampling in enumerate(mlp_acc):
        stamp = f"2026-01-0{job + 1}T00:00:00+00:00"
        runs = [dict(seed=s, sampling=sampling, test_accuracy=a, finished_at=stamp)
                for s, a in enumerate(mlp_acc[sampling])]
        runs += [dict(impl="keras", backend="tensorflow", sampling="shuffle", seed=s, test_accuracy=a,
                      fit_seconds=3.0 + job, finished_at=stamp) for s, a in enumerate(keras_acc[job])]
        _job(tmp_path, job, CONFIG | {"sampling": sampling}, runs)
    summary = tables.summary_table(load_runs([tmp_path]))
    keras = summary[summary["impl"] == "keras"].iloc[0]
    assert (len(summary), keras["sampling"], keras["n_runs"], keras["n_repeats"]) == (3, "shuffle", 3, 3)
    assert keras["accuracy_mean"] == pytest.approx(2.5 / 3)
    assert keras["fit_seconds_median"] == 4.0
    data = np.array(keras_acc[1])  # the latest job's three seeds: their t-interval, t(2) s / sqrt(3) each side
    half = scipy_stats.t.ppf(0.975, 2) * data.std(ddof=1) / math.sqrt(3)
    low, high = data.mean() - half, min(data.mean() + half, 1.0)  # an accuracy's interval stops at 1
    assert (keras["accuracy_ci_low"], keras["accuracy_ci_high"]) == (pytest.approx(low), pytest.approx(high))
    article = summary[summary["sampling"] == "article"].iloc[0]
    p = scipy_stats.ttest_ind(mlp_acc["article"], keras_acc[1], equal_var=False).pvalue
    assert (article["n_repeats"], article["accuracy_p_value"]) == (0, pytest.approx(p))
    assert list(tables.display_table(summary)["repeats left out"]) == [3, 0, 0]
    assert not math.isnan(article["accuracy_diff_vs_keras"])


def test_settings_come_from_the_records_alone(tmp_path: Path) -> None:
    """Records carry their invocation's settings: deleting every config.yaml changes nothing."""
    for job, value in enumerate(["standard", "article"]):
        settings = {"name": "titanic_sgd", "model.backprop": value, "model.momentum": 0.0}
        _job(tmp_path, job, _with("model.backprop", value),
             [dict(seed=s, test_accuracy=0.7 + 0.1 * job, settings=settings) for s in range(2)])
    with_config = tables.summary_table(load_runs([tmp_path]))
    for config in tmp_path.glob("*/config.yaml"):
        config.unlink()
    alone = tables.summary_table(load_runs([tmp_path]))
    assert list(alone["model.backprop"]) == ["article", "standard"]
    assert list(alone["accuracy_mean"]) == pytest.approx([0.8, 0.7])
    assert alone.drop(columns="settings", errors="ignore").equals(with_config.drop(columns="settings", errors="ignore"))
    moved = load_runs([tmp_path])
    moved["run_dir"] = moved["run_dir"] + "-moved"  # the DataFrame alone: no folder left to read
    assert config_settings(moved).to_dict("list") == {"model.backprop": ["standard", "standard", "article", "article"]}


def test_the_matmul_rate_comes_from_the_records_alone(tmp_path: Path) -> None:
    """A record carries the machine's rate its fit is measured against; environment.json may go."""
    settings = {"name": "titanic_sgd", "machine.matmul_gflops_float32": 200.0}
    _job(tmp_path, 0, CONFIG, [dict(seed=s, dtype="float32", fit_seconds=2.0, flops=100e9, test_accuracy=0.7,
                                    settings=settings) for s in range(2)])
    row = tables.summary_table(load_runs([tmp_path])).iloc[0]
    assert (row["machine_gflops_per_s"], row["gflops_per_s"]) == (200.0, 50.0)
    assert row["fraction_of_peak"] == pytest.approx(0.25)
    assert "machine.matmul_gflops_float32" not in tables.summary_table(load_runs([tmp_path])).columns


def test_records_of_an_older_version_take_their_folder_config(tmp_path: Path) -> None:
    """A record without `settings` (written before records carried them) still splits by config."""
    for job, value in enumerate([0.0, 0.9]):
        _job(tmp_path, job, _with("model.momentum", value), [dict(seed=0, test_accuracy=0.7)])
    assert load_runs([tmp_path])["settings"].isna().all()
    assert config_settings(load_runs([tmp_path])).to_dict("list") == {"model.momentum": [0.0, 0.9]}
