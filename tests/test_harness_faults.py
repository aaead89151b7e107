"""Faults during a sweep: failing, diverging and interrupted runs lose nothing; the sweep goes on.

These run the sweep in-process with a small fake adapter (registered for the test only),
so each fault is produced on demand and the test takes well under a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import harness.config  # noqa: F401
from experiments.models import registry
from experiments.models.adapter import Adapter, Session
from experiments.models.implementation import Implementation
from harness.precheck import CONF_DIR
from harness.records import read_records
from harness.run import finish, run_config
from harness.sweep import Outcome


class FakeSession(Session):
    """A run that fails, diverges, is interrupted or succeeds as `what` says; it predicts every test row right."""

    def __init__(self, what: str, ds: Any) -> None:
        self.what, self.ds = what, ds

    def fit(self, on_epoch: Any) -> list[float]:
        if self.what == "fail":
            raise RuntimeError(f"boom at seed {self.seed}")
        if self.what == "interrupt":
            raise KeyboardInterrupt
        losses = [0.7, float("nan"), float("nan")] if self.what == "diverge" else [0.7, 0.5, 0.4]
        for _ in losses:
            on_epoch()
        return losses

    def predict(self) -> np.ndarray:
        return self.ds.y_test.astype(np.float64)

    def fields(self, predicted: np.ndarray) -> dict[str, Any]:
        fields: dict[str, Any] = {"device": "fake", "test_loss": 0.4}
        if self.what == "unknown field":
            fields["bogus"] = 1
        if self.what == "array loss":  # JSON cannot hold an array
            fields["test_loss"] = np.array([0.4, 0.5])
        if self.what == "bad fitted line":  # a value the log line cannot format
            fields["fitted_w"] = "steep"
        return fields


class FakeAdapter(Adapter):
    """An implementation whose run for seed s behaves as `behaviour[s]` says (default "ok")."""

    def __init__(self, behaviour: dict[int, str]) -> None:
        self.behaviour = behaviour

    def start(self, spec: Any, ds: Any, *, seed: int, **_: Any) -> Session:
        session = FakeSession(self.behaviour.get(seed, "ok"), ds)
        session.seed = seed
        return session


@pytest.fixture()
def fake_mlp(monkeypatch: pytest.MonkeyPatch):
    def install(behaviour: dict[int, str]) -> None:
        monkeypatch.setitem(registry.IMPLEMENTATIONS, "mlp", Implementation("mlp", ("numpy",), FakeAdapter(behaviour)))
    return install


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=["+experiment=titanic_sgd", "quiet=true", "report=false",
                                                        *overrides])


def test_failed_and_diverged_runs_are_recorded_and_the_sweep_goes_on(fake_mlp, tmp_path: Path, data_root: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    fake_mlp({1: "fail", 2: "diverge"})
    outcome = run_config(config("runs=4"), tmp_path, launcher="basic", command="test")
    records = {r["seed"]: r for r in read_records(tmp_path)}
    assert sorted(records) == [0, 1, 2, 3]
    assert records[1]["status"] == "failed" and "RuntimeError: boom at seed 1" in records[1]["error"]
    assert records[2]["status"] == "diverged" and records[2]["diverged_epoch"] == 2
    assert records[2]["epoch_losses"] == [0.7, None, None]  # NaN stored as null: valid JSON
    assert records[0]["status"] == records[3]["status"] == "ok"
    with pytest.raises(SystemExit) as stop:
        finish(outcome, tmp_path, multirun=False)
    assert stop.value.code == 1
    assert "1 run(s) failed: mlp-numpy-seed1.json" in capsys.readouterr().err


def test_a_record_that_cannot_be_written_is_recorded_failed_and_the_sweep_goes_on(
        fake_mlp, tmp_path: Path, data_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake_mlp({0: "unknown field", 1: "array loss", 2: "bad fitted line"})
    with caplog.at_level("INFO", logger="harness.sweep"):
        outcome = run_config(config("runs=4"), tmp_path, launcher="basic", command="test")
    records = {r["seed"]: r for r in read_records(tmp_path)}
    assert sorted(records) == [0, 1, 2, 3] and len(outcome.done) == 4
    assert outcome.failed == ["mlp-numpy-seed0.json", "mlp-numpy-seed1.json"]
    assert records[0]["status"] == "failed" and records[0]["error"].startswith(
        "the run's record could not be written (ValueError: unknown record fields ['bogus']")
    assert records[0]["test_accuracy"] == 1.0 and records[0]["epoch_losses"] is None
    assert records[1]["status"] == "failed" and records[1]["error"].startswith(
        "the run's record could not be written (ValueError: ")
    assert records[2]["status"] == "ok" and records[2]["fitted_w"] == "steep"
    assert ("mlp/numpy seed 2: ok (not summarized: ValueError: Unknown format code 'f' for object of type 'str')"
            in caplog.text)
    assert records[3]["status"] == "ok"


def test_failures_in_a_multirun_job_are_left_to_the_commands_end(fake_mlp, tmp_path: Path, data_root: Path) -> None:
    """A failed run is a result: the job returns (Hydra would raise only the first failing job's
    exception, hiding a later job's failed write); the command exits 1 from the sweep's records."""
    fake_mlp({0: "fail"})
    outcome = run_config(config("runs=1"), tmp_path, launcher="basic", command="test")
    assert outcome.failed == ["mlp-numpy-seed0.json"]
    finish(outcome, tmp_path, multirun=True)


def test_ctrl_c_keeps_finished_runs_and_resume_completes(fake_mlp, tmp_path: Path, data_root: Path) -> None:
    fake_mlp({2: "interrupt"})
    outcome = run_config(config("runs=4"), tmp_path, launcher="basic", command="test")
    assert outcome.interrupted and [r["seed"] for r in read_records(tmp_path)] == [0, 1]
    with pytest.raises(SystemExit) as stop:
        finish(outcome, tmp_path, multirun=False)
    assert stop.value.code == 130
    before = (tmp_path / "records" / "mlp-numpy-seed0.json").read_text()
    fake_mlp({})
    outcome = run_config(config("runs=4", "resume=true"), tmp_path, launcher="basic", command="test")
    assert len(outcome.skipped) == 2 and len(outcome.done) == 2
    assert [r["seed"] for r in read_records(tmp_path)] == [0, 1, 2, 3]
    assert (tmp_path / "records" / "mlp-numpy-seed0.json").read_text() == before
    assert (tmp_path / "runs.csv").read_text().count("\n") == 5


def test_resume_reruns_failed_runs_only(fake_mlp, tmp_path: Path, data_root: Path) -> None:
    fake_mlp({1: "fail"})
    run_config(config("runs=3"), tmp_path, launcher="basic", command="test")
    fake_mlp({})
    outcome = run_config(config("runs=3", "resume=true"), tmp_path, launcher="basic", command="test")
    assert outcome.done == ["mlp-numpy-seed1.json"] and len(outcome.skipped) == 2
    assert all(r["status"] == "ok" for r in read_records(tmp_path))


def test_resume_with_other_settings_is_refused(fake_mlp, tmp_path: Path, data_root: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    fake_mlp({})
    run_config(config("runs=2"), tmp_path, launcher="basic", command="test")
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_config(config("runs=2", "resume=true", "model.learning_rate=0.5"), tmp_path, launcher="basic",
                   command="test")
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: resume=true but settings differ from {tmp_path / 'config.yaml'}: model.learning_rate: 0.001 in "
        f"config.yaml, 0.5 now; resume with the same overrides or choose a new hydra.run.dir\n")


def test_config_differences_name_each_key_and_both_values() -> None:
    from harness.folders import config_differences
    stored = {"runs": 2, "model": {"epochs": 3, "layers": [{"units": 15}, {"units": 1}]}, "data": {"n": 100}}
    current = {"runs": 5, "model": {"epochs": 4, "layers": [{"units": 8}, {"units": 1}]}, "data": {}}
    assert config_differences(stored, current, {"runs"}) == [
        "data.n: 100 in config.yaml, absent now", "model.epochs: 3 in config.yaml, 4 now",
        "model.layers.0.units: 15 in config.yaml, 8 now"]


def test_a_new_run_replaces_the_config_of_a_run_killed_before_its_first_record(fake_mlp, tmp_path: Path,
                                                                               data_root: Path) -> None:
    import json

    from harness.rerun import load_config
    fake_mlp({})
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(config("model.learning_rate=0.5")))
    (tmp_path / "environment.json").write_text(json.dumps({"command": "killed run"}))
    run_config(config("runs=1", "model.learning_rate=0.02"), tmp_path, launcher="basic", command="new run")
    assert OmegaConf.load(tmp_path / "config.yaml").model.learning_rate == 0.02
    assert json.loads((tmp_path / "environment.json").read_text())["command"] == "new run"
    assert load_config(tmp_path).model.learning_rate == 0.02  # so a rerun repeats this run, not the killed one


def test_resume_keeps_the_first_config(fake_mlp, tmp_path: Path, data_root: Path) -> None:
    fake_mlp({})
    run_config(config("runs=1"), tmp_path, launcher="basic", command="first")
    first = (tmp_path / "config.yaml").read_text()
    run_config(config("runs=2", "resume=true"), tmp_path, launcher="basic", command="second")
    assert (tmp_path / "config.yaml").read_text() == first
    assert len(list(tmp_path.glob("environment-*.json"))) == 1


def test_outcome_counts_each_run_once_by_its_status(fake_mlp, tmp_path: Path, data_root: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Five seeds: one fails, two diverge; the summary line counts them from the records' statuses."""
    fake_mlp({1: "fail", 2: "diverge", 4: "diverge"})
    outcome = run_config(config("runs=5"), tmp_path, launcher="basic", command="test")
    names = [f"mlp-numpy-seed{seed}.json" for seed in range(5)]
    assert outcome == Outcome(done=names, failed=[names[1]], diverged=[names[2], names[4]])
    with caplog.at_level("INFO", logger="harness.run"), pytest.raises(SystemExit):
        finish(outcome, tmp_path, multirun=False)
    assert f"5 runs finished (1 failed, 2 diverged), 0 kept from before, in {tmp_path}" in caplog.text


def test_a_failing_report_loses_no_records(fake_mlp, tmp_path: Path, data_root: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.reporting

    def broken(run_dir: Any) -> None:
        raise RuntimeError("plotting failed")

    monkeypatch.setattr(harness.reporting, "update_report", broken, raising=False)
    fake_mlp({})
    outcome = run_config(config("runs=2", "report=true"), tmp_path, launcher="basic", command="test")
    assert len(outcome.done) == 2 and len(read_records(tmp_path)) == 2


def test_a_rejected_job_leaves_no_folder_behind(tmp_path: Path) -> None:
    from harness.run import remove_if_empty
    made_by_hydra = tmp_path / "rejected"
    (made_by_hydra / ".hydra").mkdir(parents=True)
    (made_by_hydra / ".hydra" / "config.yaml").write_text("x: 1")
    (made_by_hydra / "titanic_sgd.log").write_text("")
    remove_if_empty(made_by_hydra)
    assert not made_by_hydra.exists()
    with_records = tmp_path / "kept"
    (with_records / "records").mkdir(parents=True)
    remove_if_empty(with_records)
    assert with_records.exists()


def test_rerun_of_a_sweep_reruns_every_job_when_runs_fail(fake_mlp, tmp_path: Path, data_root: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    from harness import rerun
    fake_mlp({})
    for job in ("0", "1"):
        run_config(config("runs=2"), tmp_path / "sweep" / job, launcher="basic", command="test")
    fake_mlp({0: "fail"})
    assert rerun.main([str(tmp_path / "sweep"), "--into", str(tmp_path / "again")]) == 3
    assert [len(read_records(tmp_path / "again" / job)) for job in ("0", "1")] == [2, 2]
    out = capsys.readouterr().out
    for job in ("0", "1"):
        assert (f"rerun of {tmp_path / 'sweep' / job} -> {tmp_path / 'again' / job}: 2 runs (1 failed), "
                f"1 identical to the original except timings") in out
    assert out.count("differs: mlp-numpy-seed0.json: device, epoch_losses, test_loss, test_accuracy, "
                     "test_misclassified, predicted_positives, actual_positives, article_error, status, error "
                     "differ") == 2


def test_rerun_counts_identical_records_not_lines_of_differences(fake_mlp, tmp_path: Path, data_root: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    import json

    from harness import rerun
    fake_mlp({})
    run_config(config("runs=2"), tmp_path / "a", launcher="basic", command="test")
    moved = tmp_path / "a" / "records" / "mlp-numpy-seed1.json"  # as if seed 1 had run on the GPU
    (tmp_path / "a" / "records" / "mlp-cupy-seed1.json").write_text(
        json.dumps({**json.loads(moved.read_text()), "backend": "cupy"}))
    moved.unlink()
    assert rerun.main([str(tmp_path / "a"), "--into", str(tmp_path / "b")]) == 3
    out = capsys.readouterr().out
    assert "differs: mlp-cupy-seed1.json: not rerun" in out
    assert "differs: mlp-numpy-seed1.json: not in the original" in out
    assert "2 runs (0 failed), 1 identical to the original except timings" in out


def test_rerun_refuses_a_used_folder_before_any_job_runs(fake_mlp, tmp_path: Path, data_root: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    from harness import rerun
    fake_mlp({})
    for job in ("0", "1"):
        run_config(config("runs=1"), tmp_path / "sweep" / job, launcher="basic", command="test")
    (tmp_path / "again" / "1").mkdir(parents=True)
    (tmp_path / "again" / "1" / "old.txt").write_text("")
    assert rerun.main([str(tmp_path / "sweep"), "--into", str(tmp_path / "again")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'again' / '1'} is not empty; choose another --into\n"
    assert not (tmp_path / "again" / "0").exists()


def test_rerun_of_a_resumed_folder_makes_exactly_its_recorded_runs(fake_mlp, monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path, data_root: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    """A resume that added another implementation for another seed (impls=[sklearn] seeds=[5] after
    mlp runs=2) is rerun as recorded: mlp seeds 0 and 1, sklearn seed 5, not every seed of each."""
    from harness import rerun
    from harness.records import record_name
    fake_mlp({})
    monkeypatch.setitem(registry.IMPLEMENTATIONS, "sklearn", Implementation("sklearn", ("sklearn",), FakeAdapter({})))
    run_config(config("runs=2"), tmp_path / "a", launcher="basic", command="first")
    run_config(config("impls=[sklearn]", "seeds=[5]", "resume=true"), tmp_path / "a", launcher="basic",
               command="resumed")
    assert rerun.main([str(tmp_path / "a"), "--into", str(tmp_path / "b")]) == 0
    assert [record_name(r) for r in read_records(tmp_path / "b")] == [
        "mlp-numpy-seed0.json", "mlp-numpy-seed1.json", "sklearn-sklearn-seed5.json"]
    assert (f"rerun of {tmp_path / 'a'} -> {tmp_path / 'b'}: 3 runs (0 failed), 3 identical to the original "
            "except timings") in capsys.readouterr().out


def test_rerun_of_a_sweep_is_one_sweep_to_the_report(fake_mlp, tmp_path: Path, data_root: Path) -> None:
    """The rerun's jobs form one batch, as the original's did (Hydra's multirun.yaml), with the
    sweep's merged tables: the report shows both learning rates, not the last job alone. Separate
    runs that merely share a folder stay separate."""
    import pandas as pd

    from harness import rerun
    from harness.reporting.batches import batch_root, load_batches, select_latest
    fake_mlp({})
    for job, rate in (("0", 0.01), ("1", 0.02)):
        run_config(config("runs=2", f"learning_rate={rate}"), tmp_path / "sweep" / job, launcher="basic",
                   command="test")
    assert rerun.main([str(tmp_path / "sweep"), "--into", str(tmp_path / "apart")]) == 0
    assert batch_root(tmp_path / "apart" / "0") != batch_root(tmp_path / "apart" / "1")
    (tmp_path / "sweep" / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    assert rerun.main([str(tmp_path / "sweep"), "--into", str(tmp_path / "again")]) == 0
    shown, older = select_latest(load_batches([tmp_path / "again"]))
    assert sorted(shown["learning_rate"]) == [0.01, 0.01, 0.02, 0.02] and older == {}
    assert pd.read_csv(tmp_path / "again" / "runs.csv")["job"].tolist() == [0, 0, 1, 1]
    assert pd.read_csv(tmp_path / "again" / "summary.csv")["learning_rate"].tolist() == [0.01, 0.02]


def test_rerun_of_a_sweep_whose_hydra_files_are_spoilt_warns_and_runs(fake_mlp, tmp_path: Path, data_root: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """A sweep's multirun.yaml or a job's .hydra/overrides.yaml that is not UTF-8 (or cannot be read) only
    marks the sweep or names the job's overrides: the rerun runs with a minimal marker and without those
    overrides, saying so, not a traceback; the merged tables take such overrides as none."""
    import pandas as pd

    from harness import rerun
    from harness.sweep_merge import _job_overrides
    fake_mlp({})
    for job, rate in (("0", 0.01), ("1", 0.02)):
        run_config(config("runs=1", f"learning_rate={rate}"), tmp_path / "sweep" / job, launcher="basic",
                   command="test")
    (tmp_path / "sweep" / "multirun.yaml").write_bytes(b"name: x\n\xff\n")
    hydra = tmp_path / "sweep" / "0" / ".hydra"
    hydra.mkdir()
    (hydra / "overrides.yaml").write_bytes(b"- learning_rate=0.01\n- \xff\n")
    assert _job_overrides(tmp_path / "sweep" / "0") == ""
    (tmp_path / "sweep" / "1" / ".hydra").mkdir()
    (tmp_path / "sweep" / "1" / ".hydra" / "overrides.yaml").write_text("learning_rate: 0.02\n")  # no list
    assert _job_overrides(tmp_path / "sweep" / "1") == ""
    with caplog.at_level("WARNING", logger="harness.rerun"):
        assert rerun.main([str(tmp_path / "sweep"), "--into", str(tmp_path / "again")]) == 0
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("multirun.yaml is not the YAML mapping a run writes" in w for w in warned)
    assert any("overrides.yaml" in w and "not kept" in w for w in warned)
    assert (tmp_path / "again" / "multirun.yaml").read_text() == "hydra:\n  mode: MULTIRUN\n"
    assert pd.read_csv(tmp_path / "again" / "runs.csv")["job"].tolist() == [0, 1]


def test_rerun_of_a_folder_whose_environment_json_is_spoilt_warns_and_runs(fake_mlp, tmp_path: Path,
                                                                          data_root: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    """environment.json only tells the rerun the original's commit and data folder: one that is not the
    JSON object a run writes (cut short, not UTF-8) is warned of and left out, not a traceback."""
    from harness import rerun
    fake_mlp({})
    run_config(config("runs=1"), tmp_path / "a", launcher="basic", command="test")
    (tmp_path / "a" / "environment.json").write_bytes(b'{"git": {"commit": "ab\xff')
    with caplog.at_level("WARNING", logger="harness.rerun"):
        assert rerun.main([str(tmp_path / "a"), "--into", str(tmp_path / "b")]) == 0
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len([w for w in warned if "environment.json" in w]) == 1, warned


def test_rerun_warns_when_numpy_loads_other_blas_kernels_than_the_original(fake_mlp, tmp_path: Path,
                                                                           data_root: Path,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    """Other OpenBLAS kernels round float products differently: the rerun names both, so a difference it
    then reports has a cause on the page of the log, not only 'epoch_losses differ'."""
    import json

    from harness import blas_kernels, rerun
    fake_mlp({})
    run_config(config("runs=1"), tmp_path / "a", launcher="basic", command="test")
    environment = json.loads((tmp_path / "a" / "environment.json").read_text(encoding="utf-8"))
    assert environment["blas_kernels"] == blas_kernels.loaded_kernels()
    with caplog.at_level("WARNING", logger="harness.rerun"):
        assert rerun.main([str(tmp_path / "a"), "--into", str(tmp_path / "b")]) == 0
    assert not [r for r in caplog.records if "kernels" in r.getMessage()]  # the same kernels: nothing said
    environment.update(blas_kernels="Dunnington", blas_kernels_set_by="OPENBLAS_CORETYPE=Dunnington")
    (tmp_path / "a" / "environment.json").write_text(json.dumps(environment), encoding="utf-8")
    caplog.clear()
    with caplog.at_level("WARNING", logger="harness.rerun"):
        assert rerun.main([str(tmp_path / "a"), "--into", str(tmp_path / "c")]) == 0
    warned = [r.getMessage() for r in caplog.records if "kernels" in r.getMessage()]
    here = blas_kernels.set_by() or "OpenBLAS's own choice"
    assert warned == [f"the original's NumPy products ran on OpenBLAS's Dunnington kernels (OPENBLAS_CORETYPE=Dunnington), "
                      f"this process's run on {blas_kernels.loaded_kernels()} ({here}): their float products round "
                      f"differently, so the results may differ for that alone"]


def test_rerun_of_a_sweep_keeps_each_jobs_overrides(fake_mlp, tmp_path: Path, data_root: Path) -> None:
    """runs.csv's `overrides` column tells a sweep's jobs apart; the rerun's jobs are the same jobs,
    so its runs.csv names the same overrides (they were empty: the rerun writes no .hydra/)."""
    import pandas as pd

    from harness import rerun
    fake_mlp({})
    for job, rate in (("0", 0.01), ("1", 0.02)):
        run_config(config("runs=1", f"learning_rate={rate}"), tmp_path / "sweep" / job, launcher="basic",
                   command="test")
        (tmp_path / "sweep" / job / ".hydra").mkdir()
        (tmp_path / "sweep" / job / ".hydra" / "overrides.yaml").write_text(f"- model.learning_rate={rate}\n")
    (tmp_path / "sweep" / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    assert rerun.main([str(tmp_path / "sweep"), "--into", str(tmp_path / "again")]) == 0
    assert pd.read_csv(tmp_path / "again" / "runs.csv")["overrides"].tolist() == [
        "model.learning_rate=0.01", "model.learning_rate=0.02"]


def _files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _sweep_of_two_jobs(root: Path) -> Path:
    """SWEEP/0 and SWEEP/1, one seed each, marked as one sweep as Hydra's sweeper marks it."""
    for job in ("0", "1"):
        run_config(config("runs=1"), root / "sweep" / job, launcher="basic", command="test")
    (root / "sweep" / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    return root / "sweep"


@pytest.mark.parametrize("held", ["a single run", "runs' folders", "a sweep"])
def test_rerun_of_a_sweep_into_a_folder_its_merge_would_take_in_is_refused(
        held: str, fake_mlp, tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture) -> None:
    """The rerun's sweep merges every records/ folder below --into and rewrites its runs.csv and
    summary.csv: a run already there would become a job of the rerun, and its tables be replaced."""
    from harness import rerun
    fake_mlp({})
    sweep, into = _sweep_of_two_jobs(tmp_path), tmp_path / "into"
    if held == "a single run":
        run_config(config("runs=1"), into, launcher="basic", command="test")
    elif held == "runs' folders":
        run_config(config("runs=1"), into / "2026-01-01_00-00-00", launcher="basic", command="test")
    else:
        into.mkdir()
        (into / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    before = _files_in(into)
    capsys.readouterr()
    assert rerun.main([str(sweep), "--into", str(into)]) == 2
    why = {"a single run": "holds a single run's records; a sweep needs a folder of its own: choose a new --into",
           "runs' folders": (f"holds other runs' folders ({into / '2026-01-01_00-00-00'}), which a sweep's tables "
                             f"would take in as jobs; choose a new --into"),
           "a sweep": "already holds a sweep (multirun.yaml); choose a new --into"}[held]
    assert capsys.readouterr().err == f"error: output folder {into} {why}\n"
    assert _files_in(into) == before


def test_rerun_of_a_sweeps_job_goes_beside_the_sweep(fake_mlp, tmp_path: Path, data_root: Path) -> None:
    """By default a rerun goes beside its original: for a job of a sweep that is inside the sweep,
    whose merge (and resume, and report) would take the rerun in as a third job."""
    from harness import rerun
    fake_mlp({})
    sweep = _sweep_of_two_jobs(tmp_path)
    before = _files_in(sweep)
    assert rerun.main([str(sweep / "0")]) == 0
    assert _files_in(sweep) == before
    [again] = [p for p in tmp_path.iterdir() if p.name.startswith("sweep-0-rerun-")]
    assert [r["seed"] for r in read_records(again)] == [0]


def test_rerun_into_a_sweeps_folder_is_refused(fake_mlp, tmp_path: Path, data_root: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    from harness import rerun
    fake_mlp({})
    sweep = _sweep_of_two_jobs(tmp_path)
    before = _files_in(sweep)
    capsys.readouterr()
    assert rerun.main([str(sweep / "0"), "--into", str(sweep / "again")]) == 2
    assert capsys.readouterr().err == (f"error: output folder {sweep / 'again'} is inside the sweep {sweep} "
                                       f"(multirun.yaml), whose tables would take it in as a job; choose a --into "
                                       f"outside it\n")
    assert _files_in(sweep) == before
