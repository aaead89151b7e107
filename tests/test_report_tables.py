"""Summary tables from a handful of synthetic records have exactly the expected values.

Expected values are computed here directly with NumPy and SciPy (percentiles, means, t-intervals,
Welch's t by its formula) and the time ratio's bootstrap interval is checked against the exact
bootstrap distribution (every resample enumerated, ``exact_bootstrap``), not through the code under test.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

import exact_bootstrap as exact
from harness.records import write_record
from harness.runs_table import load_runs
from harness.reporting import machine_rate, number_text, stats, tables
from harness.reporting.batches import batch_root, load_batches, report_root, select_latest

MLP_TIMES = [1.0, 1.2, 1.1, 1.5]
KERAS_TIMES = [5.0, 6.0, 5.5, 7.0]
MLP_ACC = [0.80, 0.78, 0.82, 0.79]
KERAS_ACC = [0.83, 0.84, 0.82, 0.85]
MLP_PRED = [90, 85, 95, 80]


def _record(impl: str, seed: int, **values: object) -> dict:
    return dict(experiment="titanic_vs_tf", impl=impl, backend="numpy" if impl == "mlp" else "tensorflow",
                dataset="titanic", seed=seed, learning_rate=0.01, epochs=10, status="ok") | values


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "results" / "titanic_vs_tf" / "2026-01-01_00-00-00"
    for seed, (t, a, p) in enumerate(zip(MLP_TIMES, MLP_ACC, MLP_PRED)):
        write_record(folder, _record("mlp", seed, fit_seconds=t, test_accuracy=a,
                                     test_misclassified=round((1 - a) * 281), predicted_positives=p,
                                     actual_positives=101, article_error=101 - p,
                                     epoch_losses=[0.9, 0.5, 0.3 + seed / 100]))
    for seed, (t, a) in enumerate(zip(KERAS_TIMES, KERAS_ACC)):
        write_record(folder, _record("keras", seed, fit_seconds=t, test_accuracy=a,
                                     test_misclassified=round((1 - a) * 281)))
    # A diverged run with absurd values: it must be counted, named and left out of every statistic.
    write_record(folder, _record("mlp", 9, fit_seconds=100.0, test_accuracy=0.1, test_misclassified=250,
                                 status="diverged", predicted_positives=0, article_error=101))
    return folder


def _row(summary, impl: str):
    return summary[summary["impl"] == impl].iloc[0]


def _shown(cell: str) -> tuple[float, tuple[float, float]]:
    """A page cell "mean [low, high]" as numbers."""
    mean, low, high = re.fullmatch(r"(\S+) \[(\S+), (\S+)\]", cell).groups()
    return float(mean), (float(low), float(high))


def test_counts_and_exclusion(run_dir: Path) -> None:
    mlp = _row(tables.summary_table(load_runs([run_dir])), "mlp")
    assert (mlp["n_runs"], mlp["n_ok"], mlp["n_excluded"]) == (5, 4, 1)
    assert mlp["excluded"] == "1 diverged"
    assert mlp["fit_seconds_max"] == 1.5  # the diverged run's 100 s is not in


def test_time_statistics_are_exact(run_dir: Path) -> None:
    mlp = _row(tables.summary_table(load_runs([run_dir])), "mlp")
    q25, median, q75 = np.percentile(MLP_TIMES, [25, 50, 75])
    assert mlp["fit_seconds_median"] == pytest.approx(median) == pytest.approx(1.15)
    assert mlp["fit_seconds_iqr"] == pytest.approx(q75 - q25)
    assert (mlp["fit_seconds_min"], mlp["fit_seconds_max"]) == (1.0, 1.5)


def _t_interval(values: list[float]) -> tuple[float, float]:
    """The 95% t-interval of the mean, by its formula: mean ± t(0.975, n-1) s / sqrt(n)."""
    half = scipy_stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values))
    return (pytest.approx(np.mean(values) - half), pytest.approx(np.mean(values) + half))


def test_means_and_their_t_intervals_are_exact(run_dir: Path) -> None:
    mlp = _row(tables.summary_table(load_runs([run_dir])), "mlp")
    assert mlp["accuracy_mean"] == pytest.approx(np.mean(MLP_ACC))
    assert mlp["accuracy_std"] == pytest.approx(np.std(MLP_ACC, ddof=1))
    assert (mlp["accuracy_ci_low"], mlp["accuracy_ci_high"]) == _t_interval(MLP_ACC)
    errors = [101 - p for p in MLP_PRED]
    assert mlp["article_error_mean"] == pytest.approx(13.5)
    assert (mlp["article_error_ci_low"], mlp["article_error_ci_high"]) == _t_interval(errors)
    assert mlp["final_loss_mean"] == pytest.approx(np.mean([0.30, 0.31, 0.32, 0.33]))
    assert mlp["actual_positives"] == 101


def test_page_table_shows_the_interval_of_every_mean(run_dir: Path) -> None:
    """Misclassified (and the article's signed error) as mean with its 95% t-interval, the page's
    one interval of a mean: the page's table shows it, not only the CSV."""
    view = tables.display_table(tables.summary_table(load_runs([run_dir])))
    mlp = view[view["impl"] == "mlp"].iloc[0]
    misclassified = [round((1 - a) * 281) for a in MLP_ACC]
    assert misclassified == [56, 62, 51, 59]
    for column, values, mean in (("misclassified", misclassified, 57.0),
                                 ("article error (signed)", [11, 16, 6, 21], 13.5)):
        shown_mean, interval = _shown(mlp[f"{column} mean [95% CI]"])
        expected = [float(number_text.fmt(bound, 4)) for bound in (v.expected for v in _t_interval(values))]
        assert shown_mean == mean and list(interval) == expected
    assert view[view["impl"] == "keras"].iloc[0]["article error (signed) mean [95% CI]"] == "—"
    single = tables.summary_table(load_runs([run_dir]).query("seed == 0"))
    shown = tables.display_table(single)
    assert shown["misclassified mean [95% CI]"].tolist() == ["48", "56"]  # keras, mlp: one run each
    # a single run has no spread to show: no IQR of 0, no empty interval for its time ratio
    assert shown["fit s median [IQR]"].tolist() == [number_text.fmt(KERAS_TIMES[0]), number_text.fmt(MLP_TIMES[0])]
    assert shown["time / keras [95% CI]"].tolist()[1] == number_text.fmt(MLP_TIMES[0] / KERAS_TIMES[0])
    # the accuracy test's p printed as everywhere on the page (stats.p_text), never rounded onto 0.05
    summary = tables.summary_table(load_runs([run_dir]))
    p = summary.loc[summary["impl"] == "mlp", "accuracy_p_value"].iloc[0]
    test = summary.loc[summary["impl"] == "mlp", "accuracy_test"].iloc[0]
    assert tables.display_table(summary)["accuracy vs keras: p (test)"].tolist()[1] == f"{stats.p_text(p)} ({test})"
    edge = summary.assign(accuracy_p_value=summary["accuracy_p_value"].where(summary["impl"] != "mlp", 0.04996))
    assert tables.display_table(edge)["accuracy vs keras: p (test)"].tolist()[1] == f"0.04996 ({test})"


def test_a_time_ratio_bound_is_never_rounded_onto_1(run_dir: Path) -> None:
    """The table's interval of the time ratio shows which side of 1 each bound lies on, as the
    speed sentences do (0.9996 is not printed '1', nor 1.0035)."""
    summary = tables.summary_table(load_runs([run_dir]))
    mlp = summary["impl"] == "mlp"
    near_one = summary.assign(time_ratio_vs_keras=summary["time_ratio_vs_keras"].where(~mlp, 0.899),
                              time_ratio_ci_low=summary["time_ratio_ci_low"].where(~mlp, 0.9996),
                              time_ratio_ci_high=summary["time_ratio_ci_high"].where(~mlp, 1.0035))
    assert tables.display_table(near_one)["time / keras [95% CI]"].tolist()[1] == "0.899 [0.9996, 1.004]"
    away = near_one.assign(time_ratio_ci_low=near_one["time_ratio_ci_low"].where(~mlp, 0.743))
    assert tables.display_table(away)["time / keras [95% CI]"].tolist()[1] == "0.899 [0.743, 1.004]"


def test_speed_ratio_against_keras(run_dir: Path) -> None:
    mlp = _row(tables.summary_table(load_runs([run_dir])), "mlp")
    assert mlp["time_ratio_vs_keras"] == pytest.approx(np.median(MLP_TIMES) / np.median(KERAS_TIMES))
    top, bottom = exact.distribution(MLP_TIMES, np.median), exact.distribution(KERAS_TIMES, np.median)
    ratios = (top[:, None] / bottom[None, :]).ravel()  # each group resampled on its own
    assert exact.inside((mlp["time_ratio_ci_low"], mlp["time_ratio_ci_high"]), ratios)
    assert _row(tables.summary_table(load_runs([run_dir])), "keras")["accuracy_test"] == "reference"


def test_welch_test_against_keras(run_dir: Path) -> None:
    mlp = _row(tables.summary_table(load_runs([run_dir])), "mlp")
    x, y = np.array(MLP_ACC), np.array(KERAS_ACC)
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    t = (x.mean() - y.mean()) / math.sqrt(vx + vy)
    dof = (vx + vy) ** 2 / (vx ** 2 / (x.size - 1) + vy ** 2 / (y.size - 1))
    p = 2 * scipy_stats.t.sf(abs(t), dof)
    assert mlp["accuracy_test"] == "Welch t-test"
    assert mlp["accuracy_p_value"] == pytest.approx(p)
    assert mlp["accuracy_diff_vs_keras"] == pytest.approx(x.mean() - y.mean())
    assert bool(mlp["accuracy_significant"]) is bool(p < 0.05) is True


def test_one_group_without_spread_uses_welch() -> None:
    # Welch's t is defined when only one group has no spread: the standard error is the other's.
    y = np.array([0.70, 0.71, 0.72])
    se2 = y.var(ddof=1) / y.size
    t = (0.8 - y.mean()) / math.sqrt(se2)
    dof = se2 ** 2 / (se2 ** 2 / (y.size - 1))  # the zero-variance group adds nothing
    result = stats.compare_means([0.8, 0.8, 0.8], y)
    assert result.test == "Welch t-test"
    assert result.p_value == pytest.approx(2 * scipy_stats.t.sf(abs(t), dof)) == pytest.approx(0.0041, abs=1e-4)
    assert result.significant is True


def test_no_spread_in_either_group() -> None:
    assert stats.compare_means([0.8] * 3, [0.8] * 3).p_value == 1.0
    result = stats.compare_means([0.8, 0.8, 0.8], [0.7, 0.7, 0.7])
    # exact: 2 of the C(6, 3) = 20 splits of the pooled runs are as separated, p = 0.1 (not SciPy's 0.0469)
    assert (result.test, result.p_value, result.significant) == ("Mann-Whitney U", pytest.approx(0.1), False)
    assert stats.compare_means([0.8], [0.7, 0.72]).significant is None


def test_single_run_has_no_interval() -> None:
    assert all(math.isnan(v) for v in stats.t_interval([0.5]))
    assert math.isnan(stats.describe_mean([0.5])["std"])


def test_terminal_text_names_experiment_and_test(run_dir: Path) -> None:
    text = tables.terminal_text(tables.summary_table(load_runs([run_dir])))
    assert "== titanic_vs_tf ==" in text and "Welch t-test" in text and "1 diverged" in text


def test_sweep_rows_per_swept_value(tmp_path: Path) -> None:
    sweep = tmp_path / "results" / "titanic_adam" / "multirun" / "2026-01-01_00-00-00"
    for job, rate in enumerate((0.01, 0.1)):
        for seed in range(2):
            write_record(sweep / str(job), dict(experiment="titanic_adam", impl="mlp", backend="numpy",
                                                dataset="titanic", seed=seed, learning_rate=rate, status="ok",
                                                fit_seconds=1.0 + job, test_accuracy=0.7 + job / 10,
                                                launcher="joblib"))
    (sweep / "multirun.yaml").write_text("{}\n")
    assert batch_root(sweep / "1") == sweep.resolve()
    summary = tables.summary_table(load_runs([sweep]))
    assert list(summary["learning_rate"]) == [0.01, 0.1]
    assert list(summary["accuracy_mean"]) == pytest.approx([0.7, 0.8])
    assert all("parallel launcher (joblib)" in note for note in summary["timing_note"])


def test_numbered_run_folders_are_separate_batches(tmp_path: Path) -> None:
    # Two separate runs in folders named 1 and 2: no Hydra sweep marks, so two batches, latest shown.
    experiment = tmp_path / "results" / "titanic_adam"
    for name, stamp in (("1", "2026-01-01T00:00:00"), ("2", "2026-02-01T00:00:00")):
        for seed in range(2):
            write_record(experiment / name, dict(experiment="titanic_adam", impl="mlp", seed=seed, status="ok",
                                                 finished_at=stamp))
    assert batch_root(experiment / "1") == (experiment / "1").resolve()
    runs, older = select_latest(load_batches([experiment]))
    assert runs["run_dir"].unique().tolist() == [str((experiment / "2").resolve())]
    assert older == {"titanic_adam": [str((experiment / "1").resolve())]}


def test_multirun_job_found_by_its_hydra_mode(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    for job in ("0-titanic", "1-mnist"):
        (sweep / job / ".hydra").mkdir(parents=True)
        (sweep / job / ".hydra" / "hydra.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    assert batch_root(sweep / "0-titanic") == sweep.resolve()  # no multirun.yaml: the parent
    (sweep / "0-titanic" / "run").mkdir()
    (sweep / "0-titanic" / "run" / ".hydra").mkdir()
    (sweep / "0-titanic" / "run" / ".hydra" / "hydra.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    (sweep / "multirun.yaml").write_text("{}\n")
    assert batch_root(sweep / "0-titanic" / "run") == sweep.resolve()  # a deeper job: the marked ancestor
    (sweep / "1-mnist" / ".hydra" / "hydra.yaml").write_text("hydra:\n  mode: RUN\n")
    (sweep / "multirun.yaml").unlink()
    assert batch_root(sweep / "1-mnist") == (sweep / "1-mnist").resolve()


def test_latest_batch_is_selected_and_root_found(tmp_path: Path) -> None:
    results = tmp_path / "results"
    for stamp in ("2026-01-01T00:00:00", "2026-02-01T00:00:00"):
        write_record(results / "titanic_sgd" / stamp, dict(experiment="titanic_sgd", impl="mlp", seed=0,
                                                           status="ok", finished_at=stamp))
    runs, older = select_latest(load_batches([results]))
    assert runs["run_dir"].unique().tolist() == [str((results / "titanic_sgd" / "2026-02-01T00:00:00").resolve())]
    assert len(older["titanic_sgd"]) == 1
    assert report_root(results / "titanic_sgd" / "2026-02-01T00:00:00") == results.resolve()
    free = tmp_path / "anywhere"
    write_record(free, dict(experiment="titanic_sgd", impl="mlp", seed=0, status="ok"))
    assert report_root(free) == free.resolve()  # never above a freely chosen run folder


def test_report_root_never_goes_above_a_run_dir_named_after_its_experiment(tmp_path: Path) -> None:
    """`python -m harness +experiment=smoke hydra.run.dir=/tmp/x/smoke` reports in /tmp/x/smoke, not
    in /tmp/x (which would gather everything else under /tmp/x); the same for a single run."""
    from synthetic_results import _write_smoke
    from harness.sweep_merge import finish_sweep

    chosen = _write_smoke(tmp_path / "x" / "smoke")
    assert report_root(chosen, "smoke") == chosen.resolve()
    assert report_root(chosen / "0-titanic") == chosen.resolve()
    assert finish_sweep(chosen, experiment="smoke", report=True, echo=False) == \
        (chosen / "report" / "index.html").resolve()
    assert not (tmp_path / "x" / "report").exists()
    single = tmp_path / "y" / "titanic_sgd"
    write_record(single, _record("mlp", 0, experiment="titanic_sgd"))
    assert report_root(single) == single.resolve()


def test_report_root_of_hydras_own_layout_outside_a_results_folder(tmp_path: Path) -> None:
    """<root>/<experiment>/<timestamp>/ (and .../multirun/<timestamp>/ for a sweep): the report covers <root>."""
    root = tmp_path / "runs"
    single = root / "titanic_sgd" / "2026-01-01_00-00-00"
    write_record(single, _record("mlp", 0, experiment="titanic_sgd"))
    assert report_root(single) == root.resolve()
    rerun = root / "titanic_sgd" / "2026-01-01_00-00-00-rerun-2026-01-02_00-00-00"
    write_record(rerun, _record("mlp", 0, experiment="titanic_sgd"))
    assert report_root(rerun) == root.resolve()
    sweep = root / "titanic_adam" / "multirun" / "2026-01-01_00-00-00"
    write_record(sweep / "0", _record("mlp", 0, experiment="titanic_adam"))
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    assert report_root(sweep, "titanic_adam") == root.resolve()
    assert report_root(sweep / "0") == root.resolve()
    assert report_root(root / "other" / "2026-01-01_00-00-00", "titanic_sgd") == \
        (root / "other" / "2026-01-01_00-00-00").resolve()  # a timestamp alone is not the layout


# --- Work rate and fraction of the machine's matmul rate (added by the performance engineer) ---

def _write_environment(folder: Path, cpu: float | None, gpu: float | None = None) -> None:
    import json
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "environment.json").write_text(json.dumps({"matmul_gflops_float32": cpu,
                                                         "gpu_matmul_gflops_float32": gpu}))


def test_gflops_and_fraction_of_peak(tmp_path: Path) -> None:
    folder = tmp_path / "results" / "mnist_vs_tf" / "2026-01-01_00-00-00"
    flops, times, memory = 1.23e12, [6.0, 7.0, 9.0], [40.0, 42.0, 47.0]
    for seed, (t, mb) in enumerate(zip(times, memory)):
        write_record(folder, dict(experiment="mnist_vs_tf", impl="mlp", backend="numpy", dataset="mnist",
                                  seed=seed, status="ok", fit_seconds=t, flops=flops, peak_memory_mb=mb))
        write_record(folder, dict(experiment="mnist_vs_tf", impl="mlp", backend="cupy", dataset="mnist",
                                  seed=seed, status="ok", fit_seconds=t / 20, flops=flops))
    write_record(folder, dict(experiment="mnist_vs_tf", impl="mlp", backend="numpy", dataset="mnist", seed=9,
                              status="diverged", fit_seconds=0.001, flops=flops, peak_memory_mb=9999.0))
    _write_environment(folder, cpu=200.0, gpu=50_000.0)
    summary = tables.summary_table(load_runs([folder]))
    cpu = summary[summary["backend"] == "numpy"].iloc[0]
    assert cpu["gflops_per_s"] == pytest.approx(1.23e12 / 7.0 / 1e9)  # the median fit; diverged run left out
    assert cpu["machine_gflops_per_s"] == 200.0
    assert cpu["fraction_of_peak"] == pytest.approx(1230 / 7.0 / 200.0)
    assert cpu["peak_memory_mb_median"] == 42.0
    gpu = summary[summary["backend"] == "cupy"].iloc[0]
    assert gpu["fraction_of_peak"] == pytest.approx(1230 / (7.0 / 20) / 50_000.0)  # judged by the GPU's rate
    view = tables.display_table(summary)
    assert list(view["GFLOP/s (of best matmul rate)"]) == ["3514 (7.03%)", "176 (87.9%)"]
    assert list(view["peak MB"]) == ["—", "42"]


def test_fraction_of_peak_missing_without_environment(tmp_path: Path) -> None:
    folder = tmp_path / "free"
    write_record(folder, dict(experiment="titanic_vs_tf", impl="mlp", backend="numpy", dataset="titanic",
                              seed=0, status="ok", fit_seconds=2.0, flops=4e9))
    row = tables.summary_table(load_runs([folder])).iloc[0]
    assert row["gflops_per_s"] == pytest.approx(2.0)
    assert math.isnan(row["machine_gflops_per_s"]) and math.isnan(row["fraction_of_peak"])
    assert tables.display_table(tables.summary_table(load_runs([folder])))["GFLOP/s (of best matmul rate)"][0] == "2 (no matmul rate: not recorded)"  # no environment.json, no status in the record


def test_a_resumed_runs_own_rate_measurements_count_too(tmp_path: Path) -> None:
    """A resume writes its process's environment beside the first one (environment-<stamp>-<pid>.json):
    its rate counts towards the best, and its before/after spread is read like the first's."""
    import json

    from harness import machine
    folder = tmp_path / "results" / "mnist_vs_tf" / "2026-01-01_00-00-00"
    for seed in range(3):
        write_record(folder, dict(experiment="mnist_vs_tf", impl="mlp", backend="numpy", dataset="mnist",
                                  seed=seed, status="ok", fit_seconds=6.0 + seed, flops=1.23e12))

    def environment(name: str, before: float, after: float) -> None:
        rate = machine.best_of([{"when": "before", "blas_threads": 2, "matmul_gflops_float32": before},
                                {"when": "after", "blas_threads": 2, "matmul_gflops_float32": after}])
        (folder / name).write_text(json.dumps({"matmul_gflops_float32": rate["matmul_gflops_float32"],
                                               "matmul_rate": rate}), encoding="utf-8")

    environment("environment.json", 200.0, 80.0)  # the widest spread: the first process's
    environment("environment-20260102T000000000000-42.json", 300.0, 290.0)  # the best rate: the resume's
    (folder / "environment-20260103T000000000000-43.json").write_text("{broken", encoding="utf-8")
    (folder / "environment-20260104T000000000000-44.json").write_text("[1, 2]", encoding="utf-8")
    environment(".environment.json.99.tmp", 999.0, 10.0)  # a write in progress: not an environment
    row = tables.summary_table(load_runs([folder])).iloc[0]
    assert row["machine_gflops_per_s"] == 300.0  # the best of every process's measurements
    assert row["cpu_rate_stability"] == pytest.approx(80.0 / 200.0)  # each process's spread apart
    assert machine_rate.machine_spread(load_runs([folder])).fastest == machine.Measured(200.0, "before")


def test_summary_intervals_stop_where_accuracy_and_counts_end(tmp_path: Path) -> None:
    """A group with one run near chance: its accuracy interval ends at 1 and its misclassified
    interval at 0, not at 1.5 and -5013 as the bare t-interval would."""
    folder = tmp_path / "ablation_mnist" / "run"
    for seed, wrong in enumerate((327, 5202, 353)):
        write_record(folder, _record("mlp", seed, fit_seconds=20.0, test_accuracy=1 - wrong / 10_000,
                                     test_misclassified=wrong))
    row = _row(tables.summary_table(load_runs([folder])), "mlp")
    assert row["accuracy_ci_high"] == 1.0 and row["accuracy_ci_low"] == pytest.approx(
        stats.t_interval([0.9673, 0.4798, 0.9647])[0])
    assert row["misclassified_ci_low"] == 0.0
    assert row["misclassified_ci_high"] == pytest.approx(stats.t_interval([327, 5202, 353])[1])


def test_numbers_below_a_million_are_never_printed_with_an_exponent() -> None:
    assert [number_text.fmt(v) for v in (1634.2, -5296.4, 999.6, 999.4, 0.00123, 46.71, 2.5e6)] == \
        ["1634", "-5296", "1000", "999", "0.00123", "46.7", "2.5e+06"]
    assert number_text.fmt(12345.678, 4) == "12346" and number_text.fmt(np.float32(1500.0)) == "1500"
