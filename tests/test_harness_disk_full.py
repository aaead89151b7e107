"""A write the OS refuses (disk full, quota, read-only folder, I/O error) at each place the harness
writes: one line naming the file, the folder, the error and how to finish; exit 4; no record that
claims a failed run; and resume=true then completes the folder with nothing lost or duplicated.

The failure is injected (no root, no small file system): os.replace / os.link / os.pwrite raise
OSError when their destination is the file under test, as they would on a full disk.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import harness.config  # noqa: F401
from harness import write_failure
from harness.precheck import CONF_DIR
from harness.records import read_records
from harness.run import merge_into_sweep, run_config

HOOK = Path(__file__).resolve().parent / "write_failure_hook"  # the same injection, for subprocesses
RUN = ["+experiment=titanic_sgd", "model.epochs=5", "quiet=true", "report=false"]


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a new invocation: no earlier failure has stopped it."""
    monkeypatch.setattr(write_failure, "_stopped", [])
    monkeypatch.setattr(write_failure, "_job_of_another_process", [])


def fail_when(monkeypatch: pytest.MonkeyPatch, bad: Callable[[str, str], bool], code: int = errno.ENOSPC) -> None:
    """os.replace and os.link raise OSError(code) when bad(src, dst); os.pwrite (the lock file's
    holder line) when bad('', '.writer.lock')."""
    def failing(real):
        def call(src, dst, *args, **kwargs):
            if bad(os.fspath(src), os.fspath(dst)):
                raise OSError(code, os.strerror(code))
            return real(src, dst, *args, **kwargs)
        return call

    real_pwrite = os.pwrite

    def pwrite(fd: int, data: bytes, offset: int) -> int:
        if bad("", ".writer.lock"):
            raise OSError(code, os.strerror(code))
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "replace", failing(os.replace))
    monkeypatch.setattr(os, "link", failing(os.link))
    monkeypatch.setattr(os, "pwrite", pwrite)


def ends_with(suffix: str) -> Callable[[str, str], bool]:
    return lambda src, dst: dst.endswith(suffix)


def once(bad: Callable[[str, str], bool]) -> Callable[[str, str], bool]:
    """Only the first matching write fails (as when a smaller file still fits: the old harness then
    wrote a `failed` record in place of the results)."""
    failed: list[str] = []

    def first(src: str, dst: str) -> bool:
        if failed or not bad(src, dst):
            return False
        failed.append(dst)
        return True
    return first


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=[*RUN, *overrides])


def expect_stop(capsys: pytest.CaptureFixture, run: Callable[[], object]) -> str:
    """run() exits 4 with one line on stderr, and no traceback; returns that line."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run()
    assert stop.value.code == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def leftovers(folder: Path) -> list[str]:
    """Temporary files and staging folders a failed write must not leave behind."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*")
                  if p.name.endswith(".tmp") or ".new-" in p.name or ".old-" in p.name)


def check_complete(run_dir: Path, seeds: list[int]) -> None:
    records = read_records(run_dir)
    assert sorted(r["seed"] for r in records) == seeds and all(r["status"] == "ok" for r in records)
    assert sorted(pd.read_csv(run_dir / "runs.csv")["seed"]) == seeds
    assert (run_dir / "config.yaml").is_file() and (run_dir / "environment.json").is_file()


@pytest.mark.parametrize("target, on_disk", [
    ("records/mlp-numpy-seed1.json", [0]),  # the second run's record
    ("runs.csv", [0]),                      # runs.csv after the first record
    ("environment.json", []),
    ("config.yaml", []),
    (".writer.lock", []),                   # the lock file's holder line
])
def test_a_failed_write_stops_with_one_line_and_resume_completes(target: str, on_disk: list[int], tmp_path: Path,
                                                                 data_root: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture) -> None:
    run_dir = tmp_path / "run"
    with monkeypatch.context() as patch:
        fail_when(patch, once(ends_with(target)))
        err = expect_stop(capsys, lambda: run_config(config("runs=3"), run_dir, launcher="basic", command="test"))
    assert err == (f"error: could not write {target} in {run_dir}: No space left on device (ENOSPC); "
                   f"free space, then finish with resume=true hydra.run.dir={run_dir}\n")
    assert [r["seed"] for r in read_records(run_dir)] == on_disk  # no record claims a failed run
    assert leftovers(run_dir) == []
    kept = {p.name: p.read_bytes() for p in (run_dir / "records").glob("*.json")}
    outcome = run_config(config("runs=3", "resume=true"), run_dir, launcher="basic", command="test")
    assert len(outcome.skipped) == len(on_disk) and len(outcome.done) == 3 - len(on_disk)
    check_complete(run_dir, [0, 1, 2])
    assert {name: (run_dir / "records" / name).read_bytes() for name in kept} == kept


def test_a_failed_config_write_when_resuming_stops_too(tmp_path: Path, data_root: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    with monkeypatch.context() as patch:  # resume=true writes config.yaml by linking it into place
        fail_when(patch, ends_with("/config.yaml"))
        err = expect_stop(capsys, lambda: run_config(config("runs=2", "resume=true"), tmp_path, launcher="basic",
                                                     command="test"))
    assert err.startswith(f"error: could not write config.yaml in {tmp_path}: No space left on device (ENOSPC);")
    run_config(config("runs=2", "resume=true"), tmp_path, launcher="basic", command="test")
    check_complete(tmp_path, [0, 1])


@pytest.mark.parametrize("code, words", [
    (errno.EDQUOT, "Disk quota exceeded (EDQUOT)"),
    (errno.EROFS, "Read-only file system (EROFS)"),
    (errno.EIO, "Input/output error (EIO)"),
    (errno.EACCES, "Permission denied (EACCES)"),
])
def test_any_io_error_is_a_write_failure_not_a_failed_run(code: int, words: str, tmp_path: Path, data_root: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    fail_when(monkeypatch, once(ends_with("records/mlp-numpy-seed0.json")), code)
    err = expect_stop(capsys, lambda: run_config(config("runs=2"), tmp_path, launcher="basic", command="test"))
    assert err == (f"error: could not write records/mlp-numpy-seed0.json in {tmp_path}: {words}; "
                   f"free space, then finish with resume=true hydra.run.dir={tmp_path}\n")
    assert read_records(tmp_path) == []


def report_files(report: Path) -> dict[str, bytes]:
    return {str(p.relative_to(report)): p.read_bytes() for p in sorted(report.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("when", ["building", "swapping"])
def test_a_failed_report_write_keeps_the_previous_report(when: str, tmp_path: Path, data_root: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture) -> None:
    run_dir, report = tmp_path / "run", tmp_path / "run" / "report"
    run_config(config("runs=1", "report=true"), run_dir, launcher="basic", command="test")
    before = report_files(report)
    assert "index.html" in before and "tables/summary.csv" in before
    page = str(report / "index.html")
    bad = {"building": lambda src, dst: dst.endswith("index.html") and ".report.new-" in dst,  # staged page
           "swapping": lambda src, dst: dst == page and ".report.new-" in src}[when]  # moving it into place
    with monkeypatch.context() as patch:
        fail_when(patch, bad)
        err = expect_stop(capsys, lambda: run_config(config("runs=2", "resume=true", "report=true"), run_dir,
                                                     launcher="basic", command="test"))
    assert err == (f"error: could not write report/index.html in {run_dir}: No space left on device (ENOSPC); "
                   f"the previous report in {report} is left as it was; "
                   f"free space, then finish with resume=true hydra.run.dir={run_dir}\n")
    assert report_files(report) == before and leftovers(run_dir) == []
    run_config(config("runs=2", "resume=true", "report=true"), run_dir, launcher="basic", command="test")
    check_complete(run_dir, [0, 1])
    assert pd.read_csv(report / "tables" / "summary.csv")["n_runs"].tolist() == [2]


@pytest.mark.parametrize("table", ["runs.csv", "summary.csv"])
def test_a_failed_sweep_table_write_stops_the_job(table: str, tmp_path: Path, data_root: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    from harness.callbacks import SweepTables
    sweep = tmp_path / "sweep"
    run_config(config("runs=2"), sweep / "0", launcher="basic", command="test")
    then = f"finish with the same command and resume=true hydra.sweep.dir={sweep}"
    with monkeypatch.context() as patch:
        fail_when(patch, ends_with(f"sweep/{table}"))
        err = expect_stop(capsys, lambda: merge_into_sweep(sweep, then))
        assert err == (f"error: could not write {table} in {sweep}: No space left on device (ENOSPC); "
                       f"free space, then {then}\n")
        monkeypatch.setattr(write_failure, "_stopped", [])
        end = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}, "name": "titanic_sgd", "report": False})
        err = expect_stop(capsys, lambda: SweepTables().on_multirun_end(end))
        assert err.endswith(f"free space, then rebuild with python -m harness.sweep_merge {sweep} --no-report\n")
    assert leftovers(sweep) == [] and read_records(sweep / "0")
    merge_into_sweep(sweep, then)
    assert sorted(pd.read_csv(sweep / "runs.csv")["seed"]) == [0, 1] and (sweep / "summary.csv").is_file()


def test_a_log_file_that_cannot_be_written_gives_one_warning(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    class FullDisk:
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def flush(self) -> None:
            pass

    handler = logging.FileHandler(tmp_path / "run.log")
    handler.stream.close()
    handler.stream = FullDisk()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        write_failure.quiet_log_file_failures()
        for n in range(3):
            root.warning("message %d", n)
    finally:
        root.removeHandler(handler)
    assert capsys.readouterr().err == (f"warning: log file {tmp_path / 'run.log'} not written: "
                                       "No space left on device (ENOSPC)\n")


def command(args: list[str], cwd: Path, data_root: Path, fail: str | None) -> subprocess.CompletedProcess:
    """`python -m harness ARGS`, with writes to paths ending in `fail` refused (tests/write_failure_hook)."""
    env = {**os.environ, "MLP_BENCH_DATA_DIR": str(data_root),
           "PYTHONPATH": os.pathsep.join([str(HOOK), os.environ.get("PYTHONPATH", "")])}
    env.pop("MLP_BENCH_TEST_FAIL_WRITE", None)
    if fail:
        env["MLP_BENCH_TEST_FAIL_WRITE"] = fail
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_command_line_says_one_line_and_exits_4_then_resume_completes(tmp_path: Path, data_root: Path) -> None:
    run_dir = tmp_path / "run"
    args = [*RUN, "runs=3", f"hydra.run.dir={run_dir}"]
    failed = command(args, tmp_path, data_root, fail="records/mlp-numpy-seed1.json")
    assert failed.returncode == 4, failed.stderr[-2000:]
    lines = [line for line in failed.stderr.splitlines() if not line.startswith("[")]  # the log's lines aside
    assert lines == [f"error: could not write records/mlp-numpy-seed1.json in {run_dir}: No space left on device "
                     f"(ENOSPC); free space, then finish with resume=true hydra.run.dir={run_dir}"]
    assert "Traceback" not in failed.stderr + failed.stdout and "Error executing job" not in failed.stderr
    assert [r["seed"] for r in read_records(run_dir)] == [0]
    resumed = command([*args, "resume=true"], tmp_path, data_root, fail=None)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    check_complete(run_dir, [0, 1, 2])


def test_a_sweep_stopped_by_a_full_disk_resumes(tmp_path: Path, data_root: Path) -> None:
    sweep = tmp_path / "sweep"
    args = ["-m", *RUN, "seed=0,1", f"hydra.sweep.dir={sweep}"]
    failed = command(args, tmp_path, data_root, fail="sweep/summary.csv")
    assert failed.returncode == 4, failed.stderr[-2000:]
    lines = [line for line in failed.stderr.splitlines() if not line.startswith("[")]
    assert lines == [f"error: could not write summary.csv in {sweep}: No space left on device (ENOSPC); "
                     f"free space, then finish with the same command and resume=true hydra.sweep.dir={sweep}"]
    assert "Traceback" not in failed.stderr + failed.stdout
    resumed = command([*args, "resume=true"], tmp_path, data_root, fail=None)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert sorted(pd.read_csv(sweep / "runs.csv")["seed"]) == [0, 1]


def test_the_report_command_keeps_the_previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    from harness.report import main
    from synthetic_results import write_synthetic_results
    root = tmp_path / "results"
    write_synthetic_results(root)
    assert main([str(root / "titanic_sgd")]) == 0
    before = report_files(root / "titanic_sgd" / "report")
    fail_when(monkeypatch, lambda src, dst: dst.endswith(".png"))  # the first figure
    err = expect_stop(capsys, lambda: main([str(root / "titanic_sgd")]))
    assert err.startswith("error: could not write report/figures/")
    assert err.endswith(f".png in {root / 'titanic_sgd'}: No space left on device (ENOSPC); the previous report "
                        f"in {root / 'titanic_sgd' / 'report'} is left as it was; free space, then run this command "
                        "again\n")
    assert report_files(root / "titanic_sgd" / "report") == before and leftovers(root) == []


SWEEP = ["-m", *RUN, "seed=0,1"]


@pytest.mark.parametrize("launch, fail, shown", [
    ("run", ".hydra/config.yaml", ".hydra/config.yaml in {folder}"),           # Hydra's own files of a run
    ("basic", "sweep/multirun.yaml", "multirun.yaml in {folder}"),             # Hydra's file of a sweep
    ("joblib", "records/mlp-numpy-seed1.json", "records/mlp-numpy-seed1.json in {folder}/1"),  # a worker's job
    ("joblib", "1/.hydra/config.yaml", "a job's .hydra/config.yaml in {folder}"),  # Hydra's files of such a job
    ("submitit_local", "1/.hydra/hydra.yaml", "a job's .hydra/hydra.yaml in {folder}"),
])
def test_writes_outside_the_harness_stop_with_the_same_line(launch: str, fail: str, shown: str, tmp_path: Path,
                                                            data_root: Path) -> None:
    """Hydra writes .hydra/*.yaml and multirun.yaml itself, and a worker process's job reaches the
    command through its launcher: a failure there too gives the one line, exit 4, no record that
    claims a failed run, and resume finishes. (The hook fails the writes, not the open, with no
    file name, as a full disk does.)"""
    folder = tmp_path / ("run" if launch == "run" else "sweep")
    if launch == "run":
        args, then = [*RUN, "runs=2", f"hydra.run.dir={folder}"], f"finish with resume=true hydra.run.dir={folder}"
    else:
        args = [*SWEEP, f"hydra.sweep.dir={folder}", f"hydra/launcher={launch}"]
        then = f"finish with the same command and resume=true hydra.sweep.dir={folder}"
    failed = command(args, tmp_path, data_root, fail=fail)
    assert failed.returncode == 4, failed.stderr[-3000:]
    lines = [line for line in failed.stderr.splitlines() if not line.startswith("[")]
    assert lines == [f"error: could not write {shown.format(folder=folder)}: No space left on device (ENOSPC); "
                     f"free space, then {then}"], failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr + failed.stdout
    written = [json.loads(p.read_text()) for p in folder.rglob("records/*.json")] if folder.exists() else []
    assert all(r["status"] == "ok" for r in written), "a failed write was recorded as a failed run"
    resumed = command([*args, "resume=true"], tmp_path, data_root, fail=None)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    runs = pd.read_csv(folder / "runs.csv")
    assert sorted(runs["seed"]) == [0, 1] and (runs["status"] == "ok").all()


def test_resume_runs_a_sweep_whose_multirun_yaml_hydra_left_cut_short(tmp_path: Path, data_root: Path) -> None:
    """Hydra writes multirun.yaml with open() and write(): a disk that fills during the write leaves it
    cut short, not just empty (the hook above fails the first write, leaving it empty). resume=true with
    the same command runs the sweep, as after any failed write of Hydra's: one warning, and Hydra writes
    the file again."""
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("hydra:\n  run:\n    dir: 'out", encoding="utf-8")
    resumed = command([*SWEEP, f"hydra.sweep.dir={sweep}", "resume=true"], tmp_path, data_root, fail=None)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    lines = [line for line in resumed.stderr.splitlines() if not line.startswith("[")]
    assert lines == [f"resume=true: {sweep / 'multirun.yaml'} is cut short or spoilt (found unexpected end of stream "
                     f"at line 3), as Hydra leaves it when its write fails; the sweep goes on and Hydra writes it "
                     f"again"], resumed.stderr[-3000:]
    assert OmegaConf.load(sweep / "multirun.yaml").name == "titanic_sgd"  # Hydra's, whole
    runs = pd.read_csv(sweep / "runs.csv")
    assert sorted(runs["seed"]) == [0, 1] and (runs["status"] == "ok").all()


# A worker's trace text (submitit's FailedJobError) of Hydra's .hydra/hydra.yaml write refused: disk full.
HYDRA_WRITE_FRAMES = ('Traceback (most recent call last):\n  File "/v/hydra/core/utils.py", line 186, in run_job\n'
                      '    _save_config(task_cfg, "hydra.yaml", hydra_output)\n'
                      '  File "/v/hydra/core/utils.py", line 77, in _save_config\n'
                      '    file.write(OmegaConf.to_yaml(cfg))\n')
HYDRA_WRITE_TRACE = HYDRA_WRITE_FRAMES + "OSError: [Errno 28] No space left on device\n"


def test_only_a_write_is_a_write_failure() -> None:
    """An OS error that no write raised (a read, a bug raised while handling one) keeps its
    traceback; a worker's trace counts only when its last exception is raised inside Hydra's write."""
    class FailedJobError(Exception):
        pass
    frames, full = HYDRA_WRITE_FRAMES, HYDRA_WRITE_TRACE
    assert write_failure.line_for(FailedJobError(full), "/r/sweep", "then") == (
        "error: could not write a job's .hydra/hydra.yaml in /r/sweep: No space left on device (ENOSPC); "
        "free space, then then")
    bug = full + "\nDuring handling of the above exception, another exception occurred:\n\n" + \
        'Traceback (most recent call last):\n  File "/x/harness/run.py", line 3, in run\n    boom()\nKeyError: \'bug\'\n'
    assert write_failure.line_for(FailedJobError(bug), "/r/sweep", "then") is None
    elsewhere = ('Traceback (most recent call last):\n  File "/x/experiments/data/mnist.py", line 9, in load\n'
                 '    open(path)\nPermissionError: [Errno 13] Permission denied: \'/data/mnist.gz\'\n')
    assert write_failure.line_for(FailedJobError(elsewhere), "/r/sweep", "then") is None
    assert write_failure.line_for(OSError(errno.EIO, "Input/output error", "/data/x"), "/r", "then") is None
    try:
        try:
            raise PermissionError(errno.EACCES, "Permission denied", "/data/titanic.csv")
        except PermissionError:
            raise KeyError("bug")
    except KeyError as raised:
        assert write_failure.line_for(raised, "/r", "then") is None
    chained = RuntimeError("launcher")
    chained.__cause__ = write_failure.JobStopped("error: the job's own line")
    assert write_failure.line_for(chained, "/r", "then") == "error: the job's own line"


def test_hydras_job_error_line_waits_for_what_follows() -> None:
    from harness.__main__ import _HoldJobErrorLine
    import io as _io
    out = _io.StringIO()
    held = _HoldJobErrorLine(out)
    held.write("Error executing job with overrides: ['seed=1']\n")
    assert out.getvalue() == ""
    held.write("Traceback ...\n")  # anything else after it lets it through, in order
    assert out.getvalue() == "Error executing job with overrides: ['seed=1']\nTraceback ...\n"



@pytest.mark.parametrize("closing", ["close()", "with sys.stderr:", "detach()"])
def test_closing_stderr_while_hydras_job_error_line_is_held_leaves_the_real_stream_open(closing: str) -> None:
    """While the command holds Hydra's job-error line, sys.stderr is a _HoldJobErrorLine, which handed every other
    attribute to the real stderr: code that closed (or detached) sys.stderr closed the command's own, and the
    one line that ends the command could no longer be written. Closing it now says what it held and leaves the
    real stream open; detaching is refused."""
    import io as _io

    from harness.__main__ import _HoldJobErrorLine
    out = _io.TextIOWrapper(_io.BytesIO(), encoding="utf-8")  # as sys.stderr is: one a detach() would take apart
    held = _HoldJobErrorLine(out)
    held.write("Error executing job with overrides: ['seed=1']\n")
    if closing == "close()":
        held.close()
    elif closing == "with sys.stderr:":
        with held:
            pass
    else:
        with pytest.raises(_io.UnsupportedOperation):
            held.detach()
    assert not out.closed
    out.write("error: the one line\n")
    out.flush()
    assert out.buffer.getvalue().decode() == ("Error executing job with overrides: ['seed=1']\nerror: the one line\n"
                              if closing != "detach()" else "error: the one line\n")


LEAK_WARNING = ("import warnings, multiprocessing.resource_tracker as tracker; warnings.warn_explicit("
                "'resource_tracker: There appear to be 1 leaked semaphore objects to clean up at shutdown', "
                "UserWarning, tracker.__file__, 254, module='multiprocessing.resource_tracker')")


def test_the_resource_trackers_leak_warning_stays_off_the_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A joblib sweep stopped by a failed write leaves a semaphore; the tracker's exit warning would
    follow the error line on stderr. The command starts the tracker with that warning ignored."""
    from harness.write_failure import QUIET_RESOURCE_TRACKER, quiet_resource_tracker
    monkeypatch.setenv("PYTHONWARNINGS", "")  # restored after the test
    warned = subprocess.run([sys.executable, "-c", LEAK_WARNING], capture_output=True, text=True, timeout=60)
    assert "leaked semaphore" in warned.stderr  # the control: Python prints it
    quiet_resource_tracker()
    quiet_resource_tracker()  # once in the environment, whatever the calls
    assert os.environ["PYTHONWARNINGS"].split(",") == [QUIET_RESOURCE_TRACKER]
    quiet = subprocess.run([sys.executable, "-c", LEAK_WARNING], capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0 and quiet.stderr == ""
