"""The machine's matmul rate: counted FLOPs, best-of timing, and its place in environment.json.

Timing itself is never asserted against a number (it depends on the machine and its load);
the clock is replaced where the arithmetic has to be exact.
"""

from __future__ import annotations

import itertools

import pytest

from harness import environment, machine


@pytest.fixture(autouse=True)
def measuring(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are of the measurement: switched on (the suite switches it off, tests/conftest.py)."""
    monkeypatch.setenv(machine.RATE_SWITCH, "1")


def test_product_flops_counts_one_multiply_and_one_add_per_term() -> None:
    assert machine.product_flops(1000, 784, 512) == 2 * 1000 * 784 * 512 == 802_816_000


def test_best_seconds_takes_the_fastest_call_and_respects_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # perf_counter pairs: calls of 0.3, 0.1, 0.2 s; the budget (0.55 s) is spent after the third.
    clock = iter([0.0, 0.3, 1.0, 1.1, 2.0, 2.2, 3.0, 3.05])
    monkeypatch.setattr(machine.time, "perf_counter", lambda: next(clock))
    calls = itertools.count()
    best = machine.best_seconds(lambda: next(calls), lambda: None, repeats=4, budget=0.55)
    assert best == pytest.approx(0.1)
    assert next(calls) == 4  # one warm-up and three timed calls; the fourth was not needed


def test_measure_reports_each_shape_and_the_best(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "best_seconds", lambda call, sync, **_: (call(), 0.001)[1])
    rates = machine.measure(shapes=((10, 20, 30), (40, 50, 60)))
    assert rates["per_shape_gflops"] == {"10x20@20x30": round(2 * 10 * 20 * 30 / 0.001 / 1e9, 2),
                                         "40x50@50x60": round(2 * 40 * 50 * 60 / 0.001 / 1e9, 2)}
    assert rates["matmul_gflops_float32"] == rates["per_shape_gflops"]["40x50@50x60"]


def test_real_measurement_is_positive_and_quick() -> None:
    rates = machine.measure(shapes=((64, 64, 64),), repeats=2)
    assert rates["matmul_gflops_float32"] > 0


def test_gpu_rate_says_why_it_is_missing() -> None:
    from mlp_impl.backend import gpu_status
    usable, reason = gpu_status()
    gpu = machine.gpu_rate()
    if usable:
        assert gpu["matmul_gflops_float32"] > 0
    else:
        assert gpu == {"matmul_gflops_float32": None, "reason": reason}


def test_environment_records_the_rate() -> None:
    env = environment.capture({}, "python -m harness", argv=[])
    assert env["matmul_gflops_float32"] > 0
    assert env["matmul_rate"]["blas_threads"] is None or env["matmul_rate"]["blas_threads"] >= 1
    assert set(env["matmul_rate"]["per_shape_gflops"]) == {f"{m}x{k}@{k}x{n}" for m, k, n in machine.SHAPES}
    assert "gpu_matmul_gflops_float32" in env
    assert env["load_average"] is None or (len(env["load_average"]) == 3 and min(env["load_average"]) >= 0)


def scripted_rates(monkeypatch: pytest.MonkeyPatch, rates: list[float]) -> list[int]:
    """machine.measure replaced by one returning `rates` in turn; returns the BLAS thread counts
    in force at each call (read from the BLAS itself, so the limit is shown to apply)."""
    from mlp_impl.parallel import blas_threads
    seen: list[int] = []
    values = iter(rates)

    def fake_measure() -> dict:
        seen.append(blas_threads())
        rate = next(values)
        return {"matmul_gflops_float32": rate, "per_shape_gflops": {"2048x2048@2048x2048": rate}, "method": "m"}
    monkeypatch.setattr(machine, "measure", fake_measure)
    return seen


def test_rate_is_measured_per_thread_count_and_the_best_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "thread_counts", lambda: [1, 2])
    seen = scripted_rates(monkeypatch, [60.0, 109.0])
    rate = machine.cpu_rate()
    assert seen == [1, 2]  # BLAS really limited to each count while it was measured
    assert rate["matmul_gflops_float32"] == 109.0 and rate["blas_threads"] == 2
    assert [(m["when"], m["blas_threads"], m["matmul_gflops_float32"]) for m in rate["measurements"]] == \
        [("before", 1, 60.0), ("before", 2, 109.0)]


def test_rate_after_the_runs_replaces_a_disturbed_one_and_all_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    # The case: 109 GFLOP/s measured in a noisy moment, 194 two minutes later.
    monkeypatch.setattr(machine, "thread_counts", lambda: [1, 2])
    scripted_rates(monkeypatch, [60.0, 109.0, 97.0, 194.0])
    before = {"matmul_gflops_float32": 109.0, "matmul_rate": machine.cpu_rate(), "other": "kept"}
    after = machine.with_after(before, machine.after_measurements())
    assert after["matmul_gflops_float32"] == 194.0 == after["matmul_rate"]["matmul_gflops_float32"]
    assert [m["matmul_gflops_float32"] for m in after["matmul_rate"]["measurements"]] == [60.0, 109.0, 97.0, 194.0]
    assert [m["when"] for m in after["matmul_rate"]["measurements"]] == ["before"] * 2 + ["after"] * 2
    assert after["other"] == "kept" and before["matmul_gflops_float32"] == 109.0  # input not modified


def test_a_lower_rate_after_does_not_lower_the_best(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "thread_counts", lambda: [2])
    scripted_rates(monkeypatch, [194.0, 109.0])
    after = machine.with_after({"matmul_rate": machine.cpu_rate()}, machine.after_measurements())
    assert after["matmul_gflops_float32"] == 194.0


def test_a_fraction_over_the_rate_is_flagged_not_printed() -> None:
    from harness.reporting.machine_rate import rate_text
    assert machine.disturbed(1.08) and not machine.disturbed(1.0) and not machine.disturbed(0.55)
    assert rate_text("210", 210 / 194) == "210 (above the measured matmul rate: disturbed measurement, no fraction)"
    assert rate_text("107", 107 / 194) == "107 (55.2%)"  # negative control: a possible fraction is shown
    assert rate_text("107", float("nan")) == "107"


def test_switched_off_nothing_is_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLP_BENCH_MEASURE_RATE=0: no rate before, the environment as it was after."""
    monkeypatch.setenv(machine.RATE_SWITCH, "0")
    monkeypatch.setattr(machine, "measure", lambda *a, **k: pytest.fail("measured although switched off"))
    rates = machine.machine_rates()
    assert rates["matmul_gflops_float32"] is None and rates["gpu_matmul_gflops_float32"] is None
    assert rates["matmul_rate"]["reason"] == "not measured (MLP_BENCH_MEASURE_RATE=0)"
    env = {"matmul_gflops_float32": None, "matmul_rate": rates["matmul_rate"]}
    assert machine.after_measurements() is None and machine.with_after(env, None) is env


def test_the_record_says_whether_the_rate_was_measured_skipped_or_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record without a rate tells why: the table prints it instead of a bare number."""
    from harness.reporting.machine_rate import rate_text
    from harness.run_settings import machine_settings
    monkeypatch.setattr(machine, "thread_counts", lambda: [1])
    scripted_rates(monkeypatch, [97.0])
    machine._measured_rates.cache_clear()
    try:
        assert machine_settings(machine.machine_rates())["machine.matmul_rate_status"] == "measured"
        machine._measured_rates.cache_clear()
        monkeypatch.setattr(machine, "measure", lambda: 1 / 0)
        failed = machine_settings(machine.machine_rates())
        assert failed["machine.matmul_gflops_float32"] is None
        assert failed["machine.matmul_rate_status"] == "failed (ZeroDivisionError: division by zero)"
    finally:
        machine._measured_rates.cache_clear()
    monkeypatch.setenv(machine.RATE_SWITCH, "0")
    skipped = machine_settings(machine.machine_rates())["machine.matmul_rate_status"]
    assert skipped == "skipped (MLP_BENCH_MEASURE_RATE=0)"
    assert rate_text("107", float("nan"), skipped) == "107 (no matmul rate: skipped (MLP_BENCH_MEASURE_RATE=0))"
    assert rate_text("—", float("nan"), skipped) == "—"
    assert rate_text("107", float("nan"), float("nan")) == "107"  # no status (a summary.csv cell)


def test_a_group_without_a_rate_gets_its_records_reason() -> None:
    import pandas as pd
    from harness.reporting.machine_rate import _rate_status
    def group(settings: list[dict], backend: str = "numpy", dtype: str = "float32") -> pd.DataFrame:
        return pd.DataFrame({"dtype": [dtype] * len(settings), "backend": [backend] * len(settings), "settings": settings})

    settings = [{"machine.matmul_rate_status": "skipped (MLP_BENCH_MEASURE_RATE=0)"}, {}]
    assert _rate_status(group(settings)) == "skipped (MLP_BENCH_MEASURE_RATE=0)"
    assert _rate_status(group([{}])) == "not recorded"  # an older record
    assert _rate_status(group([{}], dtype="float64")) == "float64"
    measured = {"machine.matmul_rate_status": "measured"}
    assert _rate_status(group([measured])) == "no run folder to read it from"
    assert _rate_status(group([{"machine.matmul_rate_status": float("nan")}])) == "not recorded"  # read back from CSV
    no_gpu = {**measured, "machine.gpu_matmul_rate_status": "not measured (no CUDA device)"}
    assert _rate_status(group([no_gpu], backend="cupy")) == "not measured (no CUDA device)"  # the GPU's, not the CPU's


def test_the_config_switches_the_measurement_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """measure_rate=false: nothing measured before or after, and the status says
    which switch did it; the environment variable stays the other switch."""
    from harness.run_settings import machine_settings
    monkeypatch.setattr(machine, "measure", lambda *a, **k: pytest.fail("measured although measure_rate=false"))
    rates = machine.machine_rates(False)
    assert rates["matmul_gflops_float32"] is None and rates["matmul_rate"]["reason"] == "not measured (measure_rate=false)"
    assert machine_settings(rates)["machine.matmul_rate_status"] == "skipped (measure_rate=false)"
    assert machine.after_measurements(False) is None
    env_rates = environment.capture({"measure_rate": False}, "cmd", argv=[])
    assert env_rates["matmul_rate_status"] == "skipped (measure_rate=false)"
    assert machine.skip_reason(True) is None  # negative control: on unless a switch says otherwise
    monkeypatch.setenv(machine.RATE_SWITCH, "0")
    assert machine.skip_reason(True) == "MLP_BENCH_MEASURE_RATE=0" and machine.skip_reason(False) == "measure_rate=false"


def test_a_failed_measurement_after_is_recorded_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "cpu_measurements", lambda when: 1 / 0)
    after = machine.after_measurements()
    assert after == "ZeroDivisionError: division by zero"
    env = {"matmul_gflops_float32": 97.0}
    assert machine.with_after(env, after) == {"matmul_gflops_float32": 97.0, "matmul_rate_after_error": after}


def test_measure_rate_is_bookkeeping_not_a_setting_of_the_runs(tmp_path) -> None:
    """Switching the measurement on resume is accepted (it changes no run), and records do not
    carry it among their settings (a report would otherwise split rows by it)."""
    from omegaconf import OmegaConf

    from harness.run_settings import run_settings
    from harness.folders import check_same_config
    stored = {"name": "titanic_sgd", "runs": 1, "model": {"epochs": 2}}  # written before the key existed
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(stored), encoding="utf-8")
    check_same_config(OmegaConf.create({**stored, "measure_rate": False, "resume": True}), tmp_path)
    assert "measure_rate" not in run_settings({**stored, "measure_rate": False})
    with pytest.raises(ValueError, match="model.epochs"):  # negative control: a real setting still differs
        check_same_config(OmegaConf.create({**stored, "model": {"epochs": 3}}), tmp_path)


def test_the_sweep_end_adds_one_measurement_to_exactly_the_waiting_files(tmp_path, monkeypatch) -> None:
    """Only this process's waiting files inside the sweep get it (a resumed job's stamped file, a
    nested job folder), once; another sweep's file and a job that ran nothing are left alone."""
    import json

    from harness import callbacks, run
    sweep, other = tmp_path / "sweep", tmp_path / "other"
    files = {name: path for name, path in {
        "job": sweep / "0" / "environment.json", "stamped": sweep / "1" / "environment-20260101-42.json",
        "nested": sweep / "2" / "seed0" / "environment.json", "idle": sweep / "3" / "environment.json",
        "elsewhere": other / "0" / "environment.json"}.items()}
    for path in files.values():
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"matmul_gflops_float32": 50.0, "matmul_rate": {"measurements": [
            {"when": "before", "blas_threads": 1, "matmul_gflops_float32": 50.0}]}}))
    waiting = [files["job"], files["stamped"], files["nested"], files["elsewhere"]]
    monkeypatch.setattr(run, "WAITING_FOR_AFTER", list(waiting))
    calls = []
    monkeypatch.setattr(machine, "cpu_measurements",
                        lambda when: calls.append(when) or [{"when": when, "blas_threads": 1, "matmul_gflops_float32": 80.0}])
    assert callbacks.measure_after_sweep(sweep) == 3 and calls == ["after"]
    for name in ("job", "stamped", "nested"):
        env = json.loads(files[name].read_text())
        assert env["matmul_gflops_float32"] == 80.0 and [m["when"] for m in env["matmul_rate"]["measurements"]] == \
            ["before", "after"]
    for name in ("idle", "elsewhere"):
        assert json.loads(files[name].read_text())["matmul_gflops_float32"] == 50.0
    assert run.WAITING_FOR_AFTER == [files["elsewhere"]]  # handed over once
    assert callbacks.measure_after_sweep(sweep) == 0 and calls == ["after"]
    # a file corrupted or gone in the middle spares the ones after it
    broken, later = sweep / "4" / "environment.json", sweep / "5" / "environment.json"
    for path in (broken, later):
        path.parent.mkdir()
        path.write_text(files["idle"].read_text())
    broken.write_text("{not json")
    monkeypatch.setattr(run, "WAITING_FOR_AFTER", [sweep / "gone" / "environment.json", broken, later])
    assert callbacks.measure_after_sweep(sweep) == 1 and run.WAITING_FOR_AFTER == []
    assert json.loads(later.read_text())["matmul_gflops_float32"] == 80.0


def test_a_failed_measurement_at_the_sweep_end_keeps_the_tables(tmp_path, monkeypatch) -> None:
    """The end-of-sweep measurement failing is one warning; the tables and report are still
    built, and Ctrl-C during it is raised only after them."""
    from omegaconf import OmegaConf

    from harness import callbacks, sweep_merge
    built = []
    monkeypatch.setattr(sweep_merge, "finish_sweep", lambda root, **kw: built.append(root))
    for failure, raised in ((OSError("no space left on device"), None), (KeyboardInterrupt(), KeyboardInterrupt)):
        sweep = tmp_path / type(failure).__name__
        sweep.mkdir()
        def fail(_: object, failure: BaseException = failure) -> int:
            raise failure
        monkeypatch.setattr(callbacks, "measure_after_sweep", fail)
        config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}, "name": "x", "report": False})
        if raised is None:
            callbacks.finish_once(config)
        else:
            with pytest.raises(raised):
                callbacks.finish_once(config)
        assert built[-1] == sweep


def _measured(*values: tuple[str, int, float]) -> dict:
    return machine.best_of([{"when": when, "blas_threads": threads, "matmul_gflops_float32": gflops}
                            for when, threads, gflops in values])


def test_the_worst_spread_is_one_thread_counts_slowest_and_fastest_with_when_they_were_taken() -> None:
    # the Xeon's titanic_vs_tf on 2026-12-01, when Keras's fits grew from 34 to 85 s over the seeds
    slowed = _measured(("before", 1, 168.39), ("before", 2, 337.57), ("after", 1, 152.37), ("after", 2, 156.11))
    spread = machine.worst_spread([slowed])
    assert spread == machine.RateSpread(2, machine.Measured(156.11, "after"), machine.Measured(337.57, "before"))
    assert spread.ratio == pytest.approx(156.11 / 337.57) and machine.speed_changed(spread)
    # a busier moment at the first measurement: 22% apart, within the limit
    steady = _measured(("before", 1, 167.13), ("before", 2, 261.77), ("after", 1, 169.77), ("after", 2, 334.08))
    assert machine.worst_spread([steady]).ratio == pytest.approx(261.77 / 334.08)
    assert not machine.speed_changed(machine.worst_spread([steady]))
    # of several run folders' records, the widest spread
    assert machine.worst_spread([steady, None, slowed, {}]) == spread
    # one count's rates are never compared with another's (one thread is half of two, not a change)
    assert machine.worst_spread([_measured(("before", 1, 160.0), ("after", 2, 330.0))]) is None
    assert machine.worst_spread([_measured(("before", 1, 160.0), ("before", 2, 330.0))]) is None  # no "after" yet
    assert machine.worst_spread([None, {"matmul_gflops_float32": 3.0}]) is None and machine.worst_spread([]) is None


def test_the_limit_itself_is_no_change() -> None:
    def spread(ratio: float) -> machine.RateSpread:
        return machine.RateSpread(2, machine.Measured(ratio * 100.0, "after"), machine.Measured(100.0, "before"))
    assert not machine.speed_changed(spread(machine.SPEED_CHANGE_LIMIT))
    assert machine.speed_changed(spread(machine.SPEED_CHANGE_LIMIT - 1e-9))


def test_the_spread_ignores_failed_and_unlabelled_measurements() -> None:
    rate = {"measurements": [{"blas_threads": 2, "matmul_gflops_float32": 300.0, "when": "before"},
                             {"blas_threads": 2, "matmul_gflops_float32": None},
                             {"blas_threads": 2, "matmul_gflops_float32": 0.0},
                             {"blas_threads": 2, "matmul_gflops_float32": float("inf")},
                             {"matmul_gflops_float32": 10.0},  # no thread count: not comparable
                             {"blas_threads": 2, "matmul_gflops_float32": 30.0},  # no "when": no order to state
                             {"blas_threads": 2, "matmul_gflops_float32": 270.0, "when": "after"}]}
    assert machine.worst_spread([rate]).ratio == pytest.approx(0.9)


def _shaped(when: str, threads: int, **shapes: float) -> dict:
    """A measurement with per-shape figures (keyword names stand for shapes), the best of them as its rate."""
    return {"when": when, "blas_threads": threads, "matmul_gflops_float32": max(shapes.values()),
            "per_shape_gflops": {name.replace("_", "@"): gflops for name, gflops in shapes.items()}}


def test_the_spread_is_the_worst_figure_over_every_shape_and_thread_count() -> None:
    # the 2026-12-02 bench's titanic_vs_tf: the best figures moved to 0.755 (1 thread) and 0.778 (2 threads),
    # the 784x1000 product at two threads to 0.728
    rate = machine.best_of([_shaped("before", 1, a=111.0, b=110.6, c=122.62),
                            _shaped("before", 2, a=205.59, b=206.57, c=228.45),
                            _shaped("after", 1, a=82.19, b=81.06, c=92.6),
                            _shaped("after", 2, a=155.31, b=150.45, c=177.65)])
    spread = machine.worst_spread([rate])
    assert spread == machine.RateSpread(2, machine.Measured(150.45, "after"), machine.Measured(206.57, "before"), "b")
    assert machine.speed_changed(spread)
    # a shape measured only before (or only after) is compared with nothing
    partial = machine.best_of([_shaped("before", 2, a=200.0, c=220.0), _shaped("after", 2, a=190.0, d=50.0)])
    assert machine.worst_spread([partial]) == machine.RateSpread(
        2, machine.Measured(190.0, "after"), machine.Measured(200.0, "before"), "a")
