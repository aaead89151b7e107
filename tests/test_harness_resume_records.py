"""What resume counts as finished, and what a folder must hold to be resumed: a record every reader
rejects, or one copied under another run's name, is run again (the file moved aside, not lost); a
folder with records and no config.yaml is refused; a run whose record is in place counts as done
even when Ctrl-C lands in the runs.csv rebuild just after it."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

import harness.records
import harness.runs_table
import harness.sweep
from harness.records import read_records
from harness.run import run_config
from conftest import refuse_to_list
from test_harness_faults import config, fake_mlp  # noqa: F401  (fake_mlp: a fixture)


def _records(run_dir: Path) -> Path:
    return run_dir / "records"


def _read_fails(monkeypatch: pytest.MonkeyPatch, path: Path, errno: int = 5, why: str = "Input/output error") -> None:
    """Every read of the record named as `path` fails with the OS's `errno` (a failing disk's EIO unless told);
    the others read."""
    real = harness.records.read_record

    def unreadable(p: Path) -> dict:
        if Path(p).name == path.name:
            raise OSError(errno, why)
        return real(p)
    monkeypatch.setattr(harness.records, "read_record", unreadable)


@pytest.mark.parametrize("spoil", ["unknown field", "bad seed", "another run's record"])
def test_resume_reruns_a_record_no_reader_accepts_and_keeps_the_file(fake_mlp, tmp_path: Path, data_root: Path,  # noqa: F811
                                                                     caplog: pytest.LogCaptureFixture,
                                                                     spoil: str) -> None:
    fake_mlp({})
    run_config(config("runs=2"), tmp_path, launcher="basic", command="test")
    path = _records(tmp_path) / "mlp-numpy-seed1.json"
    values = json.loads(path.read_text())
    if spoil == "unknown field":
        values["bogus"] = 1
    elif spoil == "bad seed":
        values["seed"] = -1
    else:
        values = json.loads((_records(tmp_path) / "mlp-numpy-seed0.json").read_text())
    spoilt = json.dumps(values)
    path.write_text(spoilt)
    with caplog.at_level("WARNING", logger="harness.sweep"):
        outcome = run_config(config("runs=2", "resume=true"), tmp_path, launcher="basic", command="test")
    assert outcome.done == ["mlp-numpy-seed1.json"] and outcome.skipped == ["mlp-numpy-seed0.json"]
    assert [r["seed"] for r in read_records(tmp_path)] == [0, 1]
    (moved,) = _records(tmp_path).glob("mlp-numpy-seed1.json.rejected-*")
    assert moved.read_text() == spoilt
    (warning,) = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert warning.startswith(f"resume: {path} is not the record of mlp/numpy seed 1 (")
    assert warning.endswith(f"); moved to {moved.name}, and the run is run again")


def test_resume_of_a_folder_with_records_and_no_config_is_refused(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                  data_root: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    fake_mlp({})
    run_config(config("runs=1"), tmp_path, launcher="basic", command="test")
    (tmp_path / "config.yaml").unlink()
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_config(config("runs=2", "resume=true", "model.learning_rate=0.5"), tmp_path, launcher="basic",
                   command="test")
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: resume=true but {tmp_path} holds records and no config.yaml, so its settings are unknown and "
        f"new runs could mix with others; put its config.yaml back, or choose a new hydra.run.dir\n")
    assert not (tmp_path / "config.yaml").exists() and len(read_records(tmp_path)) == 1


def test_ctrl_c_in_the_table_rebuild_after_a_record_counts_the_run(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                   data_root: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fake_mlp({})
    real = harness.runs_table.write_runs_csv
    calls: list[object] = []

    def interrupted_once(run_dir: object) -> None:
        calls.append(run_dir)
        if len(calls) == 1:
            raise KeyboardInterrupt
        real(run_dir)

    monkeypatch.setattr(harness.runs_table, "write_runs_csv", interrupted_once)
    monkeypatch.setattr(harness.sweep, "write_runs_csv", interrupted_once)
    outcome = run_config(config("runs=2"), tmp_path, launcher="basic", command="test")
    assert outcome.interrupted and outcome.done == ["mlp-numpy-seed0.json"]
    assert [r["seed"] for r in read_records(tmp_path)] == [0]


def test_resume_stops_at_a_record_it_cannot_read_and_keeps_it(fake_mlp, tmp_path: Path, data_root: Path,  # noqa: F811
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture) -> None:
    """An I/O error is no verdict on the record: it is not moved aside, and the run is not repeated."""
    fake_mlp({})
    run_config(config("runs=2"), tmp_path, launcher="basic", command="test")
    path = _records(tmp_path) / "mlp-numpy-seed1.json"
    good = path.read_text()
    _read_fails(monkeypatch, path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_config(config("runs=2", "resume=true"), tmp_path, launcher="basic", command="test")
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: resume: cannot read {path} (Input/output error (EIO)); make it readable, or move it out of "
        f"{path.parent} to run mlp/numpy seed 1 again, then run the command again\n")
    assert path.read_text() == good and not list(_records(tmp_path).glob("*.rejected-*"))


def test_the_precheck_refuses_a_record_resume_cannot_read_before_anything_runs(
        fake_mlp, tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The command's check (before Hydra writes anything) reads the folder's records with the reader
    resume uses (harness.records.read_to_resume), so a record it cannot read stops the command before any
    run; a readable record that is no run's (a foreign file) is left to resume, which moves it aside."""
    from harness.precheck import BadInput, check
    fake_mlp({})
    run_config(config("runs=2"), tmp_path, launcher="basic", command="test")
    path = _records(tmp_path) / "mlp-numpy-seed1.json"
    (_records(tmp_path) / "foreign.json").write_text("[1, 2]")
    real = harness.records.read_record  # put back below
    _read_fails(monkeypatch, path, 13, "Permission denied")
    argv = ["+experiment=titanic_sgd", "quiet=true", "report=false", "runs=3", "resume=true",
            f"hydra.run.dir={tmp_path}"]
    with pytest.raises(BadInput) as refused:
        check(argv)
    assert str(refused.value) == (
        f"resume: cannot read {path} (Permission denied (EACCES)); make it readable, or move it out of "
        f"{path.parent} to run mlp/numpy seed 1 again, then run the command again")
    monkeypatch.setattr(harness.records, "read_record", real)
    assert check(argv) == ("hydra.run.dir", tmp_path)  # readable again: the foreign file is no reason to refuse


NOT_ITS_RUN = " (it is not one of this command's runs; resume reads every record of the folder)"


@pytest.mark.parametrize("where", ["the command's check", "the job's runs.csv rebuild"])
def test_resume_says_a_record_it_cannot_read_of_a_run_it_does_not_plan_is_none_of_its_runs(
        fake_mlp, tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture, where: str) -> None:
    """resume=true with runs=1 in a folder of runs=2, whose seed 1 record the OS will not read: seed 1 is not
    one of the command's runs, so moving the file out does not run it again, as the line said ('to run it
    again'); it says the file is none of the command's runs, and that resume reads every record of the folder
    (the check's, before any run, and the job's, which meets it in its runs.csv rebuild when no check preceded
    it: a SLURM job, a rerun's resume)."""
    from harness.precheck import BadInput, check
    fake_mlp({})
    run_config(config("runs=2"), tmp_path, launcher="basic", command="test")
    path = _records(tmp_path) / "mlp-numpy-seed1.json"
    _read_fails(monkeypatch, path)
    capsys.readouterr()
    if where == "the command's check":
        with pytest.raises(BadInput) as refused:
            check(["+experiment=titanic_sgd", "quiet=true", "report=false", "runs=1", "resume=true",
                   f"hydra.run.dir={tmp_path}"])
        said = str(refused.value)
    else:
        with pytest.raises(SystemExit) as stop:
            run_config(config("runs=1", "resume=true"), tmp_path, launcher="basic", command="test")
        assert stop.value.code == 2
        said = capsys.readouterr().err.removeprefix("error: ").removesuffix("\n")
    assert said == (f"resume: cannot read {path} (Input/output error (EIO)); make it readable, or move it out of "
                    f"{path.parent}{NOT_ITS_RUN}, then run the command again")


def _unreadable_yaml(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Opening the file at `path` fails with EIO, as on a bad disk sector (io.open: however the
    harness reads it)."""
    real = io.open

    def failing_open(file: object, *args: object, **kwargs: object) -> object:
        if isinstance(file, (str, os.PathLike)) and os.path.abspath(file) == str(path.absolute()):
            raise OSError(5, "Input/output error")
        return real(file, *args, **kwargs)
    monkeypatch.setattr(io, "open", failing_open)


@pytest.mark.parametrize("fault", ["EIO", "a folder in its place"])
def test_a_config_resume_cannot_read_is_refused_in_one_line(fake_mlp, tmp_path: Path, data_root: Path,  # noqa: F811
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture, fault: str) -> None:
    """resume=true compares the settings with the folder's config.yaml: one the OS will not let it read
    is refused by the command's check in one line naming it (exit 2), not a traceback."""
    from harness.precheck import main_guard
    fake_mlp({})
    run_config(config("runs=1"), tmp_path, launcher="basic", command="test")
    path = tmp_path / "config.yaml"
    if fault == "EIO":
        _unreadable_yaml(monkeypatch, path)
        why = "Input/output error (EIO)"
    else:
        path.unlink()
        path.mkdir()
        why = "Is a directory (EISDIR)"
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main_guard(["+experiment=titanic_sgd", "quiet=true", "report=false", "runs=2", "resume=true",
                    f"hydra.run.dir={tmp_path}"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: resume=true: cannot read {path} ({why}), whose settings the resumed runs must share; make it "
        f"readable, or choose a new hydra.run.dir\n")


def test_a_sweeps_multirun_yaml_resume_cannot_read_is_refused_in_one_line(tmp_path: Path, data_root: Path,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture) -> None:
    """resume=true of a sweep reads its multirun.yaml (whose sweep the folder holds): one the OS will not
    let it read is refused by the command's check in one line naming it (exit 2), not a traceback."""
    from harness.precheck import main_guard
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    path = sweep / "multirun.yaml"
    path.write_text("name: titanic_sgd\n")
    _unreadable_yaml(monkeypatch, path)
    with pytest.raises(SystemExit) as stop:
        main_guard(["-m", "+experiment=titanic_sgd", "quiet=true", "report=false", "runs=2",
                    "model.learning_rate=0.1,0.01", "resume=true", f"hydra.sweep.dir={sweep}"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: resume=true: cannot read {path} (Input/output error (EIO)), which says whose sweep the folder "
        f"holds; make it readable, or choose a new hydra.sweep.dir\n")


def test_the_precheck_leaves_a_record_that_vanished_to_the_job(fake_mlp, tmp_path: Path, data_root: Path,  # noqa: F811
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's check reads the records before it holds the folder's lock: one gone between the
    listing and the read (another command moving an invalid record aside) is not unreadable, and the job,
    under the lock, decides what it is (absent: the run is run again)."""
    from harness.precheck import check
    fake_mlp({})
    run_config(config("runs=2"), tmp_path, launcher="basic", command="test")
    path = _records(tmp_path) / "mlp-numpy-seed1.json"
    real = harness.records.read_record

    def moved_aside_first(p: Path) -> dict:
        if Path(p).name == path.name:
            path.rename(path.with_name(f"{path.name}.rejected-x"))
        return real(p)  # raises FileNotFoundError for the one moved aside
    monkeypatch.setattr(harness.records, "read_record", moved_aside_first)
    argv = ["+experiment=titanic_sgd", "quiet=true", "report=false", "runs=2", "resume=true",
            f"hydra.run.dir={tmp_path}"]
    assert check(argv) == ("hydra.run.dir", tmp_path)
    monkeypatch.setattr(harness.records, "read_record", real)  # the job reads what is there now
    outcome = run_config(config("runs=2", "resume=true"), tmp_path, launcher="basic", command="test")
    assert outcome.done == ["mlp-numpy-seed1.json"] and outcome.skipped == ["mlp-numpy-seed0.json"]


@pytest.mark.parametrize("name", ["mlp-numpy-seed1.json", "other-numpy-seed9.json"], ids=["planned", "foreign"])
def test_the_precheck_refuses_a_link_to_nothing_in_a_records_place(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                   data_root: Path, name: str) -> None:
    """A record file that is a link to nothing is there: it may lead to a good record (a volume not
    mounted now), so it is refused as one that cannot be read, not run again over the link; under a name
    no planned run has too, as the job's runs.csv rebuild reads every record of the folder. Moving a planned
    run's out runs it again (the line names the run, as the job's backstop does); moving another file out does
    not, so its line says it is none of the command's runs (both said 'to run it again')."""
    from harness.precheck import BadInput, check
    fake_mlp({})
    run_config(config("runs=2"), tmp_path, launcher="basic", command="test")
    path = _records(tmp_path) / name
    path.unlink(missing_ok=True)
    path.symlink_to(tmp_path / "elsewhere" / path.name)
    with pytest.raises(BadInput) as refused:
        check(["+experiment=titanic_sgd", "quiet=true", "report=false", "runs=2", "resume=true",
               f"hydra.run.dir={tmp_path}"])
    moved = " to run mlp/numpy seed 1 again" if name == "mlp-numpy-seed1.json" else NOT_ITS_RUN
    assert str(refused.value) == (
        f"resume: cannot read {path} (No such file or directory (ENOENT)); make it readable, or move it out of "
        f"{path.parent}{moved}, then run the command again")


# config.yaml spoilt, as written, and why it is refused: what a run writes is the non-empty YAML mapping of its
# resolved settings (harness.settings_file)
SPOILT_CONFIGS = [("model: [\n", "expected the node content, but found '<stream end>' at line 2"),
                  ("- 1\n", "a list, not settings"),
                  ("", "empty: no settings"),
                  ("42\n", "the single value 42, not settings"),
                  ('"5"\n', "the single value '5', not settings"),
                  (b"\xff\n", "not UTF-8 text: byte 0xff at line 1"),
                  ("oops\n", "the single value 'oops', not settings"),
                  ("a: ${x}\n", "an interpolation that cannot be resolved at a: Interpolation key 'x' not found")]
SPOILT_IDS = ["not YAML", "a list", "empty", "a number", "a quoted number", "not UTF-8", "a word", "interpolation"]


def _spoil(path: Path, text: str | bytes) -> None:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("text, why", SPOILT_CONFIGS, ids=SPOILT_IDS)
def test_a_config_that_is_no_yaml_mapping_is_refused_in_one_line(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                  data_root: Path, capsys: pytest.CaptureFixture,
                                                                  text: str | bytes, why: str) -> None:
    """A config.yaml spoilt (not YAML, not UTF-8, no mapping of settings, an interpolation that cannot be
    resolved) is refused by the command's check in one line naming it, the problem and the fix (exit 2),
    not a traceback, nor as settings that differ (resuming with the same overrides would not help)."""
    from harness.precheck import main_guard
    fake_mlp({})
    run_config(config("runs=1"), tmp_path, launcher="basic", command="test")
    path = tmp_path / "config.yaml"
    _spoil(path, text)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main_guard(["+experiment=titanic_sgd", "quiet=true", "report=false", "runs=2", "resume=true",
                    f"hydra.run.dir={tmp_path}"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: resume=true: {path} is not the YAML mapping a run writes ({why}), whose settings the resumed "
        f"runs must share; put back the file the run wrote, or choose a new hydra.run.dir\n")


@pytest.mark.parametrize("text, why", SPOILT_CONFIGS, ids=SPOILT_IDS)
def test_the_job_refuses_a_spoilt_config_in_the_same_line_and_keeps_it(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                      data_root: Path, capsys: pytest.CaptureFixture,
                                                                      text: str | bytes, why: str) -> None:
    """The job checks the folder again under its lock (no command check before it: a rerun's resume, a
    job started elsewhere): the same line, and the file and records stay as they were."""
    fake_mlp({})
    run_config(config("runs=1"), tmp_path, launcher="basic", command="test")
    path = tmp_path / "config.yaml"
    _spoil(path, text)
    before = path.read_bytes()
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_config(config("runs=2", "resume=true"), tmp_path, launcher="basic", command="test")
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: resume=true: {path} is not the YAML mapping a run writes ({why}), whose settings the resumed "
        f"runs must share; put back the file the run wrote, or choose a new hydra.run.dir\n")
    assert path.read_bytes() == before and [r["seed"] for r in read_records(tmp_path)] == [0]


@pytest.mark.parametrize("text, why", SPOILT_CONFIGS, ids=SPOILT_IDS)
def test_rerun_refuses_a_spoilt_config_in_one_line(fake_mlp, tmp_path: Path, data_root: Path,  # noqa: F811
                                                   capsys: pytest.CaptureFixture, text: str | bytes, why: str) -> None:
    """python -m harness.rerun reads config.yaml with resume's reader (harness.settings_file): a spoilt one
    is refused in one line naming it and the fix (exit 2), before anything is written."""
    from harness.rerun import main
    fake_mlp({})
    run_config(config("runs=1"), tmp_path / "a", launcher="basic", command="test")
    path = tmp_path / "a" / "config.yaml"
    _spoil(path, text)
    capsys.readouterr()
    assert main([str(tmp_path / "a"), "--into", str(tmp_path / "b")]) == 2
    assert capsys.readouterr().err == (
        f"error: {path} is not the YAML mapping a run writes ({why}), whose settings the rerun repeats; put back "
        f"the file the run wrote\n")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("fault", ["EIO", "a folder in its place", "a key this version does not know"])
def test_rerun_refuses_a_config_it_cannot_read_or_run_in_one_line(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                  data_root: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture, fault: str) -> None:
    from harness.rerun import main
    fake_mlp({})
    run_config(config("runs=1"), tmp_path / "a", launcher="basic", command="test")
    path = tmp_path / "a" / "config.yaml"
    if fault == "EIO":
        _unreadable_yaml(monkeypatch, path)
        line = f"cannot read {path} (Input/output error (EIO)), whose settings the rerun repeats; make it readable"
    elif fault == "a folder in its place":
        path.unlink()
        path.mkdir()
        line = f"cannot read {path} (Is a directory (EISDIR)), whose settings the rerun repeats; make it readable"
    else:
        path.write_text(path.read_text(encoding="utf-8") + "bogus: 1\n", encoding="utf-8")
        line = (f"{path} cannot run here: Key 'bogus' not in 'BenchConfig' (at bogus), a setting this version does "
                f"not take; rerun it with the commit that wrote it (its environment.json names it), or put back the "
                f"file the run wrote")
    capsys.readouterr()
    assert main([str(tmp_path / "a"), "--into", str(tmp_path / "b")]) == 2
    assert capsys.readouterr().err == f"error: {line}\n"
    assert not (tmp_path / "b").exists()


def test_rerun_refuses_a_value_the_schema_cannot_take_as_a_spoilt_file(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                         data_root: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    """A value of the wrong type (runs: abc) is the file's fault, not a setting of another version."""
    from harness.rerun import main
    fake_mlp({})
    run_config(config("runs=1"), tmp_path / "a", launcher="basic", command="test")
    path = tmp_path / "a" / "config.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("runs: 1\n", "runs: abc\n"), encoding="utf-8")
    capsys.readouterr()
    assert main([str(tmp_path / "a"), "--into", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path} cannot run here: Value 'abc' of type 'str' could not be converted to "
                          f"Integer (at runs), not a value the run wrote; put back the file the run wrote") and \
        err.count("\n") == 1
    assert not (tmp_path / "b").exists()


def test_the_job_refuses_a_link_to_nothing_in_a_records_place_and_keeps_it(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                           data_root: Path,
                                                                           capsys: pytest.CaptureFixture) -> None:
    """The job's own check of each record (harness.sweep.finished) follows the command's check: a link to
    nothing may lead to a good record (a volume not mounted here: under SLURM the command's check runs on
    the login node, the job on a compute node), so it stops the job in one line, and the link stays."""
    fake_mlp({})
    run_config(config("runs=2"), tmp_path, launcher="basic", command="test")
    path = _records(tmp_path) / "mlp-numpy-seed1.json"
    target = tmp_path / "elsewhere" / path.name
    path.unlink()
    path.symlink_to(target)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_config(config("runs=2", "resume=true"), tmp_path, launcher="basic", command="test")
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: resume: cannot read {path} (No such file or directory (ENOENT)); make it readable, or move it out "
        f"of {path.parent} to run mlp/numpy seed 1 again, then run the command again\n")
    assert path.is_symlink() and os.readlink(path) == str(target) and not target.exists()
    assert not list(_records(tmp_path).glob("*.rejected-*"))


def test_the_job_refuses_a_link_to_nothing_under_a_foreign_name_in_one_line(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                          data_root: Path,
                                                                          capsys: pytest.CaptureFixture) -> None:
    """A job its command's check did not precede (a SLURM job, a rerun's resume) meets a link to nothing
    under a name no planned run has only when it rebuilds runs.csv from every record of the folder
    (harness.records.read_records): the same one line as the check's (exit 2), not a traceback; the
    link stays, and the record of the run it ran is kept."""
    fake_mlp({})
    run_config(config("runs=1"), tmp_path, launcher="basic", command="test")
    kept = (_records(tmp_path) / "mlp-numpy-seed0.json").read_bytes()
    path = _records(tmp_path) / "other-numpy-seed9.json"
    path.symlink_to("/nonexistent")
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_config(config("runs=2", "resume=true"), tmp_path, launcher="basic", command="test")
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: resume: cannot read {path} (No such file or directory (ENOENT)); make it readable, or move it out "
        f"of {path.parent}{NOT_ITS_RUN}, then run the command again\n")
    assert path.is_symlink() and os.readlink(path) == "/nonexistent"
    assert (_records(tmp_path) / "mlp-numpy-seed0.json").read_bytes() == kept
    assert (_records(tmp_path) / "mlp-numpy-seed1.json").is_file()
    assert not list(_records(tmp_path).glob("*.rejected-*"))


def test_rerun_refuses_a_link_to_nothing_among_the_records_in_its_own_line(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                            data_root: Path,
                                                                            capsys: pytest.CaptureFixture) -> None:
    """python -m harness.rerun reads the folder's records (which runs to make again) with read_records: a
    link to nothing there is refused in one line (exit 2), not as a config.yaml that cannot run here, in
    the rerun's words (it said resume's: 'resume: ... to run it again', which a rerun does not do), and
    --into is not made."""
    from harness.rerun import main
    fake_mlp({})
    run_config(config("runs=1"), tmp_path / "a", launcher="basic", command="test")
    path = _records(tmp_path / "a") / "other-numpy-seed9.json"
    path.symlink_to("/nonexistent")
    capsys.readouterr()
    assert main([str(tmp_path / "a"), "--into", str(tmp_path / "b")]) == 2
    assert capsys.readouterr().err == (
        f"error: rerun: cannot read {path} (No such file or directory (ENOENT)); make it readable, or move it out "
        f"of {path.parent} to leave its run out of the rerun, then run the command again\n")
    assert not (tmp_path / "b").exists() and path.is_symlink()


def _rerun_line(path: Path, why: str) -> str:
    """rerun's one line for a record it cannot read (check_jobs')."""
    return (f"error: rerun: cannot read {path} ({why}); make it readable, or move it out of {path.parent} to leave "
            f"its run out of the rerun, then run the command again\n")


def _lost_after(monkeypatch: pytest.MonkeyPatch, folder: Path, path: Path) -> None:
    """The record at `path` becomes a link to nothing (a disk that failed, a volume gone) once the rerun has run
    `folder` again."""
    from harness import rerun
    real = rerun._run_again

    def run_again(job: Path, *args: object, **kwargs: object) -> object:
        outcome = real(job, *args, **kwargs)
        if job == folder:
            path.unlink()
            path.symlink_to("/nonexistent")
        return outcome
    monkeypatch.setattr(rerun, "_run_again", run_again)


def test_rerun_refuses_a_record_unreadable_since_its_check_in_its_line_and_keeps_its_runs(
        fake_mlp, tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """check_jobs reads the original's records before any run; differences() reads them again after the runs,
    to compare: one the OS no longer lets it read there ended the rerun in a traceback (UnreadableRecord).
    Now the rerun's line (check_jobs'), exit 2, and the records the rerun made are kept."""
    from harness.rerun import main
    fake_mlp({})
    run_config(config("runs=2"), tmp_path / "a", launcher="basic", command="test")
    path = _records(tmp_path / "a") / "mlp-numpy-seed1.json"
    _lost_after(monkeypatch, tmp_path / "a", path)
    capsys.readouterr()
    assert main([str(tmp_path / "a"), "--into", str(tmp_path / "b")]) == 2
    assert capsys.readouterr().err == _rerun_line(path, "No such file or directory (ENOENT)")
    assert [r["seed"] for r in read_records(tmp_path / "b")] == [0, 1] and path.is_symlink()


def test_a_sweeps_rerun_refuses_a_record_unreadable_by_a_later_job_and_tables_the_jobs_rerun(
        fake_mlp, tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A sweep is rerun job by job, each reading its original's records as its turn comes (rerun_configs): one
    unreadable by then (job 1's, lost while job 0 ran) is refused in the same line, exit 2, printed last; job
    0's new records are kept, and the rerun's sweep tables show them, as after Ctrl-C."""
    import pandas as pd

    from harness.rerun import main
    fake_mlp({})
    sweep = tmp_path / "sweep"
    for job in ("0", "1"):
        run_config(config("runs=2"), sweep / job, launcher="basic", command="test")
    (sweep / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    path = _records(sweep / "1") / "mlp-numpy-seed0.json"
    _lost_after(monkeypatch, sweep / "0", path)
    capsys.readouterr()
    assert main([str(sweep), "--into", str(tmp_path / "again")]) == 2
    assert capsys.readouterr().err == _rerun_line(path, "No such file or directory (ENOENT)")
    assert [r["seed"] for r in read_records(tmp_path / "again" / "0")] == [0, 1]
    assert not (tmp_path / "again" / "1").exists()
    assert pd.read_csv(tmp_path / "again" / "runs.csv")["job"].tolist() == [0, 0]


def _state(folder: Path) -> dict[str, object]:
    """Every entry below `folder` (links not followed): a file's bytes, a link's target, a folder's None."""
    state: dict[str, object] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            rel = str(path.relative_to(folder))
            state[rel] = os.readlink(path) if path.is_symlink() else path.read_bytes() if path.is_file() else None
    return state


def _records_linked_to_nothing(run_dir: Path) -> tuple[Path, Path]:
    """`run_dir`'s records/ made a link to a folder that is not there (a volume not mounted here): (the
    link, its target)."""
    link, target = _records(run_dir), run_dir.parent / "unmounted" / "records"
    shutil.rmtree(link, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    return link, target


def _records_link_line(link: Path, target: Path, dir_key: str) -> str:
    return (f"error: {link} is a link to {target}, which is not there (a volume not mounted here?); mount or "
            f"restore {target}, or remove the link, or choose a new {dir_key}\n")


# What may stand where a run folder's records/ should: neither can hold, or lead to, records the harness reads.
RECORDS_FAULTS = ["a link to nothing", "a file"]


def _records_no_folder(run_dir: Path, fault: str) -> Callable[[str], str]:
    """`run_dir`'s records/ made a link to nothing or a file; the line that refuses it, given the folder's setting."""
    if fault == "a link to nothing":
        link, target = _records_linked_to_nothing(run_dir)
        return lambda dir_key: _records_link_line(link, target, dir_key)
    records = _records(run_dir)
    shutil.rmtree(records, ignore_errors=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    records.write_text("kept")
    return lambda dir_key: (f"error: {records} cannot be read as the folder of the runs' records (Not a directory "
                            f"(ENOTDIR)); make it a folder the harness can read, or move it out of {run_dir}, or "
                            f"choose a new {dir_key}\n")


@pytest.mark.parametrize("fault", RECORDS_FAULTS)
@pytest.mark.parametrize("resume", [True, False], ids=["resume", "new run"])
def test_a_records_folder_that_is_no_folder_is_refused_before_any_run(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                      data_root: Path, capsys: pytest.CaptureFixture,
                                                                      resume: bool, fault: str) -> None:
    """records/ a link to nothing may lead to the folder's records on a volume not mounted here: resume
    would take every run for unfinished, and a new run its folder for one without records, both failing
    only at the first record's write (exit 4, as if the disk were full). The command's check refuses it in
    one line naming the link and its target (exit 2), and nothing in the folder changes. The same for a
    file in records/' place (the same late failure: exit 4 after the runs), in a line naming it and what
    the OS said."""
    from harness.precheck import main_guard
    fake_mlp({})
    run_dir = tmp_path / "run"
    if resume:
        run_config(config("runs=1"), run_dir, launcher="basic", command="test")
    line = _records_no_folder(run_dir, fault)
    before = _state(run_dir)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main_guard(["+experiment=titanic_sgd", "quiet=true", "report=false", "runs=2", f"resume={str(resume).lower()}",
                    f"hydra.run.dir={run_dir}"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == line("hydra.run.dir")
    assert _state(run_dir) == before


@pytest.mark.parametrize("fault", RECORDS_FAULTS)
@pytest.mark.parametrize("resume", [True, False], ids=["resume", "new sweep"])
def test_a_sweep_jobs_records_folder_that_is_no_folder_is_refused_before_any_job(tmp_path: Path, data_root: Path,
                                                                                 capsys: pytest.CaptureFixture,
                                                                                 resume: bool, fault: str) -> None:
    from harness.precheck import main_guard
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    if resume:
        (sweep / "multirun.yaml").write_text("name: titanic_sgd\n")
    line = _records_no_folder(sweep / "1", fault)
    before = _state(sweep)
    args = SWEEP_ARGS if resume else [a for a in SWEEP_ARGS if a != "resume=true"]
    with pytest.raises(SystemExit) as stop:
        main_guard([*args, f"hydra.sweep.dir={sweep}"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == line("hydra.sweep.dir")
    assert _state(sweep) == before


@pytest.mark.parametrize("fault", RECORDS_FAULTS)
@pytest.mark.parametrize("resume", [True, False], ids=["resume", "new run"])
def test_the_job_refuses_a_records_folder_that_is_no_folder_before_any_run(fake_mlp, tmp_path: Path,  # noqa: F811
                                                                           data_root: Path,
                                                                           capsys: pytest.CaptureFixture,
                                                                           resume: bool, fault: str) -> None:
    """The job checks its folder again (no command check before it: a SLURM job, a rerun's resume): the
    same line, before any run, and nothing in the folder changes."""
    fake_mlp({})
    run_dir = tmp_path / "run"
    if resume:
        run_config(config("runs=1"), run_dir, launcher="basic", command="test")
    line = _records_no_folder(run_dir, fault)
    before = _state(run_dir)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_config(config("runs=2", f"resume={str(resume).lower()}"), run_dir, launcher="basic", command="test")
    assert stop.value.code == 2
    assert capsys.readouterr().err == line("hydra.run.dir")
    assert _state(run_dir) == before


def test_a_runs_report_passes_over_a_record_it_cannot_read_in_the_reports_words(
        fake_mlp, tmp_path: Path, data_root: Path, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    """The report a run builds after its runs gathers every run of its results folder; a failure there is a
    warning (the run's records are on disk). For a record there the OS will not let it read, the warning
    carried resume's line ('resume: ... to run it again, then run the command again': a new run's command
    run again makes another run); it says the report's fix now, with the command that builds it again."""
    fake_mlp({})
    results = (tmp_path / "results").resolve()
    run_config(config("runs=1"), results / "titanic_sgd" / "2026-01-01_00-00-00", launcher="basic", command="test")
    path = results / "titanic_sgd" / "2026-01-01_00-00-00" / "records" / "mlp-numpy-seed0.json"
    path.unlink()
    path.symlink_to("/nonexistent")
    run_dir = results / "titanic_sgd" / "2026-01-02_00-00-00"
    with caplog.at_level(logging.WARNING, logger="harness.run"):
        outcome = run_config(config("runs=1", "report=true"), run_dir, launcher="basic", command="test")
    assert outcome.done == ["mlp-numpy-seed0.json"] and [r["seed"] for r in read_records(run_dir)] == [0]
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("report")] == [
        f"report not updated: cannot read {path} (No such file or directory (ENOENT)); make it readable, or move it "
        f"out of {path.parent}, then build the report again with python -m harness.report {results}; the previous "
        f"report in {results / 'report'} is left as it was"]
    assert path.is_symlink() and not (results / "report").exists()


SWEEP_ARGS = ["-m", "+experiment=titanic_sgd", "quiet=true", "report=false", "runs=2", "model.learning_rate=0.1,0.01",
              "resume=true"]


def _marked_sweep(tmp_path: Path, marker: str) -> tuple[Path, Path]:
    """A sweep folder whose multirun.yaml holds `marker`: (the folder, the file)."""
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    path = sweep / "multirun.yaml"
    path.write_text(marker)
    return sweep, path


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def test_a_sweeps_multirun_yaml_cut_short_is_left_to_hydra(tmp_path: Path, data_root: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """Hydra writes multirun.yaml itself, not atomically, and again as each launch starts: one a full disk
    cut short is its own half-written file, not a reason to refuse resume=true (which reads only the
    sweep's name from it): the check goes on, with one warning."""
    from harness.precheck import check
    sweep, path = _marked_sweep(tmp_path, "hydra:\n  run:\n    dir: 'out")
    with caplog.at_level("WARNING", logger="harness.folders"):
        assert check([*SWEEP_ARGS, f"hydra.sweep.dir={sweep}"]) == ("hydra.sweep.dir", sweep)
    assert _warnings(caplog) == [
        f"resume=true: {path} is cut short or spoilt (found unexpected end of stream at line 3), as Hydra leaves it "
        f"when its write fails; the sweep goes on and Hydra writes it again"]
    assert path.read_text() == "hydra:\n  run:\n    dir: 'out"  # the check writes nothing


@pytest.mark.parametrize("swept", ["model.learning_rate=0.1,0.01", "model.epochs=1,2"])
def test_resume_of_a_sweep_whose_name_is_an_interpolation_goes_on_silently(tmp_path: Path, data_root: Path,
                                                                          caplog: pytest.LogCaptureFixture,
                                                                          swept: str) -> None:
    """Hydra writes a name=tsgd_${model.epochs} override into multirun.yaml unresolved, beside its config
    less the swept keys (over model.epochs=1,2 the default epochs, 1000): resolved there, it is no job's
    name, so it is not compared (each job's config.yaml is), and the same command resumes the sweep (no
    refusal, no warning), whichever key the sweep runs over."""
    from harness.precheck import check
    sweep, _ = _marked_sweep(tmp_path, "name: tsgd_${model.epochs}\nmodel:\n  epochs: 1000\nhydra: {}\n")
    with caplog.at_level("WARNING", logger="harness.folders"):
        assert check(["-m", "+experiment=titanic_sgd", "name=tsgd_${model.epochs}", "quiet=true", "report=false",
                      "runs=2", swept, "resume=true", f"hydra.sweep.dir={sweep}"]) == ("hydra.sweep.dir", sweep)
    assert not _warnings(caplog)


def test_a_multirun_yaml_cut_inside_its_name_is_cut_short_not_another_sweep(tmp_path: Path, data_root: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    """A file Hydra's write left without its last newline is cut short even where what is left parses as
    YAML (a cut inside "name: titanic_sgd" reads as the sweep of "titan"): warned of, not refused."""
    from harness.precheck import check
    sweep, path = _marked_sweep(tmp_path, "hydra:\n  run:\n    dir: out\nname: titan")
    with caplog.at_level("WARNING", logger="harness.folders"):
        assert check([*SWEEP_ARGS, f"hydra.sweep.dir={sweep}"]) == ("hydra.sweep.dir", sweep)
    assert _warnings(caplog) == [
        f"resume=true: {path} is cut short or spoilt (no newline at its end), as Hydra leaves it when its write "
        f"fails; the sweep goes on and Hydra writes it again"]


@pytest.mark.parametrize("jobs", [False, True])
def test_a_folder_in_a_sweeps_multirun_yaml_place_is_refused_as_unreadable(tmp_path: Path, data_root: Path,
                                                                           jobs: bool) -> None:
    """Anything in multirun.yaml's place marks a sweep (harness.folders.is_sweep_folder): a folder there is
    refused by resume=true as a file it cannot read, not taken for a folder with no sweep (which Hydra's
    write of multirun.yaml would then fail on, or which, holding runs' folders, would be refused as no sweep)."""
    from harness.precheck import BadInput, check
    sweep = tmp_path / "sweep"
    (sweep / "multirun.yaml").mkdir(parents=True)
    if jobs:
        (sweep / "other" / "records").mkdir(parents=True)
        (sweep / "other" / "records" / "mlp-numpy-seed0.json").write_text("{}")
    with pytest.raises(BadInput) as refused:
        check([*SWEEP_ARGS, f"hydra.sweep.dir={sweep}"])
    assert str(refused.value) == (
        f"resume=true: cannot read {sweep / 'multirun.yaml'} (Is a directory (EISDIR)), which says whose sweep the "
        f"folder holds; make it readable, or choose a new hydra.sweep.dir")
    with pytest.raises(BadInput) as refused:
        check([a for a in SWEEP_ARGS if a != "resume=true"] + [f"hydra.sweep.dir={sweep}"])
    assert str(refused.value) == (
        f"output folder {sweep} already holds a sweep (multirun.yaml); finish it with its own overrides and "
        f"resume=true, or choose a new hydra.sweep.dir")


def test_the_check_refuses_a_folder_in_the_run_folder_it_cannot_list_in_its_words(
        fake_mlp, tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The check that a run's folder holds no other runs' folders walks it (harness.runs_table.find_run_dirs): a
    folder there it may not list (EACCES; as root os.scandir is made to refuse it) may hold runs, which the
    folder's tables would take in. It was passed over; it is refused now before any run, exit 2, in the check's
    words (not resume's), nothing changed."""
    fake_mlp({})
    run_dir = tmp_path / "run"
    hidden = (run_dir / "kept").resolve()
    hidden.mkdir(parents=True)
    refuse_to_list(monkeypatch, hidden, "scandir")
    before = _state(run_dir)
    with pytest.raises(SystemExit) as stop:
        run_config(config("runs=1"), run_dir, launcher="basic", command="test")
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: output folder {run_dir.absolute()}: cannot read {hidden} (Permission denied (EACCES)); make it "
        f"readable, or move it out of {hidden.parent}, then run the command again, or choose a new hydra.run.dir\n")
    assert _state(run_dir) == before


def _unlistable(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """`folder` a folder the OS will not list (EACCES)."""
    folder.mkdir(parents=True, exist_ok=True)
    refuse_to_list(monkeypatch, folder)


@pytest.mark.parametrize("entry", ["a file", "a link to nothing", "a folder it cannot list"])
@pytest.mark.parametrize("resume", [True, False], ids=["resume", "new sweep"])
def test_a_records_entry_in_the_sweep_folder_itself_is_refused_before_any_job(
        tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
        resume: bool, entry: str) -> None:
    """Anything in the sweep folder's own records/ place makes it a run's folder to the sweep's tables
    (harness.runs_table.find_run_dirs): the check saw nothing there (Path.glob found no *.json), every job
    ran, then every merge failed on the sweep folder itself and the command ended in exit 1 without runs.csv.
    The command's check refuses it now, before any job, in one line naming it and the fix, exit 2, nothing
    changed. A folder there holding no record has nothing to mix, and is accepted (the next test)."""
    from harness.precheck import main_guard
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    if resume:
        (sweep / "multirun.yaml").write_text("name: titanic_sgd\n")
    records = _records(sweep)
    state = {"a file": "Not a directory (ENOTDIR)", "a link to nothing": f"a link to {tmp_path / 'gone'}, which is "
             "not there", "a folder it cannot list": "Permission denied (EACCES)"}[entry]
    if entry == "a file":
        records.write_text("x")
    elif entry == "a link to nothing":
        records.symlink_to(tmp_path / "gone")
    else:
        _unlistable(monkeypatch, records)
    before = _state(sweep)
    args = SWEEP_ARGS if resume else [a for a in SWEEP_ARGS if a != "resume=true"]
    with pytest.raises(SystemExit) as stop:
        main_guard([*args, f"hydra.sweep.dir={sweep}"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: output folder {sweep} holds {records} ({state}), which makes it a run's folder to the sweep's "
        f"tables; move it out of {sweep}, or choose a new hydra.sweep.dir\n")
    assert _state(sweep) == before


@pytest.mark.parametrize("resume", [True, False], ids=["resume", "new sweep"])
def test_a_sweep_folder_whose_own_records_folder_holds_no_record_is_accepted(tmp_path: Path, data_root: Path,
                                                                             resume: bool) -> None:
    """An empty (or record-less) records/ folder in the sweep's own folder, left by a user or an earlier
    version, holds nothing the sweep's tables could mix in: the sweep runs there, as it always did."""
    from harness.precheck import check
    sweep = tmp_path / "sweep"
    _records(sweep).mkdir(parents=True)
    (_records(sweep) / "notes.txt").write_text("kept")
    if resume:
        (sweep / "multirun.yaml").write_text("name: titanic_sgd\n")
    check([*(SWEEP_ARGS if resume else [a for a in SWEEP_ARGS if a != "resume=true"]), f"hydra.sweep.dir={sweep}"])


def test_a_sweep_folder_holding_a_runs_records_is_still_refused_as_a_runs(tmp_path: Path, data_root: Path) -> None:
    from harness.precheck import BadInput, check
    sweep = tmp_path / "sweep"
    _records(sweep).mkdir(parents=True)
    (_records(sweep) / "mlp-numpy-seed0.json").write_text("{}")
    with pytest.raises(BadInput) as refused:
        check([a for a in SWEEP_ARGS if a != "resume=true"] + [f"hydra.sweep.dir={sweep}"])
    assert str(refused.value) == (f"output folder {sweep} holds a single run's records; a sweep needs a folder of its "
                                  f"own: choose a new hydra.sweep.dir")


@pytest.mark.parametrize("entry", ["an empty folder", "a file", "a link to nothing"])
def test_a_records_entry_above_the_run_that_holds_no_record_is_no_run_folder(
        tmp_path: Path, data_root: Path, entry: str) -> None:
    """A folder above the run's is a run's only where its records/ holds a record: a user's own ~/records
    (an empty folder, a file, a link) beside a folder the results live in must not refuse every run as
    'inside the run folder ~'. Inside a folder whose records/ holds a record a run is refused as nested."""
    from harness.precheck import BadInput, check
    home = tmp_path.resolve() / "home"
    home.mkdir()
    if entry == "an empty folder":
        _records(home).mkdir()
    elif entry == "a file":
        _records(home).write_text("x")
    else:
        _records(home).symlink_to(tmp_path / "gone")
    run = ["+experiment=titanic_sgd", "quiet=true", "report=false", f"hydra.run.dir={home / 'proj' / 'results' / 'run'}"]
    check(run)  # no BadInput
    if entry == "an empty folder":
        (_records(home) / "mlp-numpy-seed0.json").write_text("{}")
        with pytest.raises(BadInput) as refused:
            check(run)
        assert str(refused.value) == (f"output folder {home / 'proj' / 'results' / 'run'} is inside the run folder "
                                      f"{home}, whose tables and report would take it in; choose a hydra.run.dir "
                                      f"outside it")


def test_a_new_run_meeting_a_record_it_cannot_read_after_its_runs_says_how_to_finish(
        fake_mlp, tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture) -> None:
    """A new run (no resume=true) whose runs.csv rebuild meets a record the OS will not let it read (its own,
    failed since it was written) stops there, exit 2, its records kept. Its line was resume's, whose fix, 'run
    the command again', is then refused: the folder already holds records. It says now how to finish: resume."""
    fake_mlp({})
    path = _records(tmp_path) / "mlp-numpy-seed0.json"
    real = harness.records.read_record

    def unreadable(p: Path) -> dict:
        if Path(p) == path:
            raise OSError(5, "Input/output error")
        return real(p)
    monkeypatch.setattr(harness.records, "read_record", unreadable)
    with pytest.raises(SystemExit) as stop:
        run_config(config("runs=2"), tmp_path, launcher="basic", command="test")
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: runs.csv not rebuilt: cannot read {path} (Input/output error (EIO)); make it readable, or move it "
        f"out of {path.parent}, then finish with resume=true hydra.run.dir={tmp_path}\n")
    monkeypatch.setattr(harness.records, "read_record", real)  # readable again: the fix the line gives works
    outcome = run_config(config("runs=2", "resume=true"), tmp_path, launcher="basic", command="test")
    assert outcome.skipped == ["mlp-numpy-seed0.json"] and outcome.done == ["mlp-numpy-seed1.json"]
