"""Every bad input is refused by the real command line before any work: exit 2, one line on
stderr naming the problem and the fix, nothing written (no results folder), no TensorFlow import."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

CASES = {  # id: (command-line arguments, words the message must contain)
    "unknown experiment": (["+experiment=nope"], ["unknown experiment 'nope'", "titanic_sgd", "smoke"]),
    "no experiment": ([], ["+experiment=NAME", "titanic_vs_tf"]),
    "experiment without +": (["experiment=smoke"], ["+experiment=NAME"]),
    "unknown key": (["+experiment=titanic_sgd", "epoch=3"], ["'epoch'", "spelling"]),
    "wrong type": (["+experiment=titanic_sgd", "model.epochs=abc"], ["model.epochs", "Integer"]),
    "zero epochs": (["+experiment=titanic_sgd", "model.epochs=0"], ["model.epochs", "positive"]),
    "zero threads": (["+experiment=mnist_vs_tf", "model.threads=0"], ["model.threads", "positive"]),
    "unknown kernels": (["+experiment=titanic_sgd", "model.kernels=cuda"], ["'cuda'", "model.kernels", "numpy, fused"]),
    "negative learning rate": (["+experiment=titanic_sgd", "model.learning_rate=-0.1"], ["model.learning_rate"]),
    "zero batch size": (["+experiment=titanic_sgd", "model.batch_size=0"], ["model.batch_size", "positive"]),
    "zero runs": (["+experiment=titanic_sgd", "runs=0"], ["runs", "positive"]),
    "unknown implementation": (["+experiment=titanic_sgd", "impls=[mlp,jax]"], ["'jax'", "mlp, mlp_fused, keras"]),
    "unknown backend": (["+experiment=titanic_sgd", "backend=tpu"], ["'tpu'", "numpy, cupy"]),
    "unknown activation": (["+experiment=titanic_sgd", "model.layers.0.activation=gelu"], ["'gelu'", "relu"]),
    "unknown loss": (["+experiment=titanic_sgd", "model.loss=hinge"], ["'hinge'", "binary_crossentropy"]),
    "unknown optimizer": (["+experiment=titanic_sgd", "model.optimizer=rmsprop"], ["'rmsprop'", "adam"]),
    "unknown initializer": (["+experiment=titanic_sgd", "model.initializer=orthogonal"], ["'orthogonal'", "xavier"]),
    "unknown dataset": (["+experiment=titanic_sgd", "dataset=cifar"], ["'cifar'", "mnist"]),
    "unknown dtype": (["+experiment=titanic_sgd", "dtype=float16"], ["'float16'", "float32"]),
    "batch larger than data": (["+experiment=titanic_sgd", "model.batch_size=601"], ["600 rows", "batch_size"]),
    "output width vs classes": (["+experiment=titanic_vs_tf", "model.layers.1.units=2"], ["1 output", "units"]),
    "input width vs features": (["+experiment=titanic_sgd", "dataset=titanic_kaggle", "model.input_dim=7"],
                                ["model.input_dim=7", "features"]),
    "mnist output width": (["+experiment=mnist_cpu", "model.layers.3.units=9"], ["10 output"]),
    "no gpu": (["+experiment=mnist_gpu"], ["backend=cupy", "backend=numpy"]),
    "negative seed": (["+experiment=titanic_sgd", "seed=-1"], ["seed=-1", "non-negative"]),
    "missing data folder": (["+experiment=titanic_sgd", "data.root=/nonexistent/data"], ["/nonexistent/data", "data.root"]),
    "keras named but not imported": (["+experiment=titanic_vs_tf", "model.epochs=-1"], ["model.epochs"]),
    "unparsable override": (["+experiment=titanic_sgd", "model.epochs=["], ["'model.epochs=['"]),
    "duplicate seeds": (["+experiment=titanic_sgd", "seeds=[1,1]"], ["distinct"]),
    "loss vs task": (["+experiment=titanic_sgd", "model.loss=categorical_crossentropy"], ["binary task"]),
    "sweep without -m": (["+experiment=titanic_sgd", "seed=0,1"], ["-m"]),
    "bad value inside a sweep": (["-m", "+experiment=titanic_sgd", "seed=0,x"], ["seed", "Integer"]),
    "sweep jobs in one folder": (["-m", "+experiment=titanic_sgd", "seed=0,1", "hydra.sweep.subdir=same"],
                                 ["jobs 0 and 1 of the sweep would both write to", "/same (hydra.sweep.subdir=same)",
                                  "include ${hydra.job.num}"]),
    "parallel sweep jobs in one folder": (["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                                           "+experiment=titanic_sgd", "learning_rate=0.01,0.5",
                                           "hydra.sweep.subdir=same"], ["jobs 0 and 1", "hydra.sweep.subdir=same"]),
    "empty sweep": (["-m", "+experiment=titanic_sgd", "seed=range(0,-2)"],
                    ["the sweep seed=range(0,-2) has no values", "e.g. seed='range(0,2)'"]),
    "negative data seed": (["+experiment=titanic_sgd", "data.seed=-1"],
                           ["data.seed=-1 must be a non-negative integer, e.g. data.seed=0"]),
    "momentum of one": (["+experiment=titanic_sgd", "model.momentum=1.0"],
                        ["model.momentum=1.0 is out of range", "in [0, 1)"]),
    "zero adam epsilon": (["+experiment=titanic_adam", "model.adam_epsilon=0"],
                          ["model.adam_epsilon=0.0 is out of range", "e.g. 1e-7"]),
    "output activation vs loss": (["+experiment=titanic_sgd", "model.layers.1.activation=relu"],
                                  ["model.layers[1].activation=relu", "needs a 'sigmoid' output layer"]),
    "optimizer sklearn lacks": (["+experiment=titanic_vs_tf", "impls=[mlp,sklearn]", "model.optimizer=amsgrad"],
                                ["sklearn has no AMSGrad", "drop sklearn from impls"]),
    "mixed hidden activations for sklearn": (["+experiment=mnist_vs_tf", "impls=[sklearn]",
                                              "model.layers.1.activation=tanh"],
                                             ["sklearn uses one activation for every hidden layer", "'relu', 'tanh'"]),
    "adam variant sklearn lacks": (["+experiment=titanic_vs_tf", "impls=[mlp,sklearn]", "model.adam_variant=article"],
                                   ["sklearn's Adam", "no adam_variant=article; use model.adam_variant=keras or "
                                    "drop sklearn from impls"]),
    "classes missing from sklearn's training rows": (
        ["+experiment=mnist_vs_tf", "impls=[sklearn]", "data.limit_train=12", "model.batch_size=12"],
        ["the 12 training rows lack classes 6, 7, 8 of the spec's 10", "use a larger data.limit_train"]),
    "run folder for an experiment that is a sweep": (["+experiment=titanic_vs_tf", "impls=[mlp]", "hydra.run.dir=out"],
                                                     ["titanic_vs_tf is a sweep", "hydra.sweep.dir=PATH"]),
    "run folder for a sweep": (["-m", "+experiment=titanic_sgd", "seed=0,1", "hydra.run.dir=out"],
                               ["-m runs a sweep", "hydra.sweep.dir=PATH"]),
    "sweep folder for a single run": (["+experiment=titanic_sgd", "hydra.sweep.dir=out"],
                                      ["hydra.sweep.dir", "hydra.run.dir=PATH"]),
    "resume without a folder": (["+experiment=titanic_sgd", "resume=true"],
                                ["resume=true: nothing to resume at ", "results/titanic_sgd/", "hydra.run.dir=PATH"]),
    "resume into a missing folder": (["+experiment=titanic_sgd", "resume=true", "hydra.run.dir=missing"],
                                     ["nothing to resume at ", "/missing (no such folder)", "hydra.run.dir=PATH"]),
    "resume of a missing sweep": (["-m", "+experiment=titanic_sgd", "seed=0,1", "resume=true", "hydra.sweep.dir=gone"],
                                  ["nothing to resume at ", "/gone (no such folder)", "hydra.sweep.dir=PATH"]),
    "launcher without -m": (["hydra/launcher=joblib", "+experiment=titanic_sgd"], ["hydra/launcher=joblib", "-m"]),
    "slurm launcher without -m": (["hydra/launcher=slurm", "+experiment=titanic_sgd"], ["hydra/launcher=slurm", "-m"]),
    "name with a slash": (["+experiment=titanic_sgd", "name=my/exp"], ["name=my/exp", "plain folder name"]),
    "name of the parent folder": (["+experiment=titanic_sgd", "name=.."], ["name=..", "plain folder name"]),
}


def harness(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m harness ARGS` in a fresh folder; -X importtime lists every module imported."""
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "harness", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=60)


def assert_refused(done: subprocess.CompletedProcess, words: list[str], cwd: Path) -> None:
    lines = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    assert done.returncode == 2, done.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for word in words:
        assert word in lines[0], (word, lines[0])
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "tensorflow" not in imported and "keras" not in imported
    assert list(cwd.iterdir()) == [], "a refused command wrote files"


# Run through the real command line (exit status, stderr, no TensorFlow import); the other cases
# check the same refusal in-process (``main_guard``, what ``python -m harness`` runs first).
END_TO_END = {"unknown experiment", "keras named but not imported", "sweep jobs in one folder", "no gpu",
              "bad value inside a sweep", "classes missing from sklearn's training rows", "unparsable override",
              "name with a slash"}


def _skip_where_a_gpu_works(case: str) -> None:
    if case == "no gpu":
        from mlp_impl.backend import gpu_status
        if gpu_status()[0]:
            pytest.skip("a GPU is usable here, so mnist_gpu is not refused")


@pytest.mark.parametrize("case", sorted(END_TO_END))
def test_bad_command_is_refused(case: str, tmp_path: Path, data_root: Path) -> None:
    args, words = CASES[case]
    _skip_where_a_gpu_works(case)
    assert_refused(harness(args, tmp_path), words, tmp_path)


@pytest.mark.parametrize("case", sorted(set(CASES) - END_TO_END))
def test_bad_command_is_refused_before_hydra_runs(case: str, tmp_path: Path, data_root: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture) -> None:
    from harness.precheck import main_guard

    args, words = CASES[case]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main_guard(args)
    err = capsys.readouterr().err
    assert stop.value.code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert list(tmp_path.iterdir()) == [], "a refused command wrote files"


def test_unwritable_output_folder(tmp_path: Path, data_root: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    done = harness(["+experiment=titanic_sgd", f"hydra.run.dir={blocker}/run"], tmp_path)
    assert done.returncode == 2 and "cannot be written" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_existing_records_need_resume(tmp_path: Path, data_root: Path) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "records").mkdir(parents=True)
    (run_dir / "records" / "mlp-numpy-seed0.json").write_text("{}")
    done = harness(["+experiment=titanic_sgd", f"hydra.run.dir={run_dir}"], tmp_path)
    assert done.returncode == 2 and "resume=true" in done.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == ["records"]


def test_sweep_over_a_folder_with_records_names_the_sweep_dir(tmp_path: Path, data_root: Path) -> None:
    sweep = tmp_path / "sweep"
    (sweep / "0" / "records").mkdir(parents=True)
    (sweep / "0" / "records" / "mlp-numpy-seed0.json").write_text("{}")
    done = harness(["-m", "+experiment=titanic_sgd", "seed=0,1", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (f"error: output folder {sweep / '0'} already holds records; "
                                            f"add resume=true to finish it, or choose a new hydra.sweep.dir")


def refused_in_process(args: list[str], capsys: pytest.CaptureFixture) -> str:
    """The one line `python -m harness ARGS` refuses with (exit 2), from its pre-check in-process."""
    from harness.precheck import main_guard
    with pytest.raises(SystemExit) as stop:
        main_guard(args)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1, err
    return err.rstrip("\n")


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_resume_into_an_empty_folder_is_refused(tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    line = refused_in_process(["+experiment=titanic_sgd", "resume=true", f"hydra.run.dir={empty}"], capsys)
    assert line == (f"error: resume=true: nothing to resume at {empty} (empty folder); give the folder of the runs "
                    f"to finish with hydra.run.dir=PATH, or leave out resume=true to start afresh")
    assert list(empty.iterdir()) == []


def _sweep_folder(folder: Path, layout: str) -> None:
    """A folder as a sweep leaves it (multirun.yaml, a job's folder, the merged tables), before
    its first record, or a folder of other runs' folders (results/<experiment>/)."""
    job = folder / ("2026-01-01_00-00-00" if layout == "runs' folders" else "0")
    (job / "records").mkdir(parents=True)
    (job / "config.yaml").write_text("name: titanic_sgd\n")
    if layout != "sweep before its first record":
        (job / "records" / "mlp-numpy-seed0.json").write_text("{}")
        (folder / "runs.csv").write_text("job,seed\n0,0\n")
    if layout != "runs' folders":
        (folder / "multirun.yaml").write_text("hydra: {}\n")


@pytest.mark.parametrize("layout", ["sweep", "sweep before its first record", "runs' folders"])
@pytest.mark.parametrize("resume", ["false", "true"])
def test_a_single_run_into_a_folder_of_runs_is_refused(layout: str, resume: str, tmp_path: Path, data_root: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    """A single run into a sweep's folder (or results/<experiment>/) would mix its records into the
    sweep's tables, which merge every records/ folder below it, and overwrite them."""
    folder = tmp_path / "sweep"
    _sweep_folder(folder, layout)
    before = files_in(folder)
    line = refused_in_process(["+experiment=titanic_sgd", f"resume={resume}", f"hydra.run.dir={folder}"], capsys)
    if layout == "runs' folders":
        assert line == (f"error: output folder {folder} holds other runs' folders "
                        f"({folder / '2026-01-01_00-00-00'}); choose a new hydra.run.dir")
    else:
        assert line == (f"error: output folder {folder} is a sweep's folder (multirun.yaml); finish the sweep "
                        f"with -m, its overrides and resume=true hydra.sweep.dir={folder}, or choose a new "
                        f"hydra.run.dir")
    assert files_in(folder) == before


@pytest.mark.parametrize("resume", ["false", "true"])
def test_a_sweep_into_a_single_runs_folder_is_refused(resume: str, tmp_path: Path, data_root: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    """The sweep's merge would take the run's records in as a job and replace its runs.csv."""
    folder = tmp_path / "run"
    (folder / "records").mkdir(parents=True)
    (folder / "records" / "mlp-numpy-seed0.json").write_text("{}")
    (folder / "runs.csv").write_text("seed\n0\n")
    before = files_in(folder)
    line = refused_in_process(["-m", "+experiment=titanic_sgd", "seed=0,1", f"resume={resume}",
                               f"hydra.sweep.dir={folder}"], capsys)
    assert line == (f"error: output folder {folder} holds a single run's records; a sweep needs a folder of its "
                    f"own: choose a new hydra.sweep.dir")
    assert files_in(folder) == before


def _other_sweep(folder: Path, layout: str) -> None:
    """Folders a new sweep's jobs (0, 1) do not collide with, but whose records its merge would take in."""
    if layout == "another sweep":  # smoke's job folders are named <job>-<case>
        (folder / "0-titanic" / "records").mkdir(parents=True)
        (folder / "0-titanic" / "records" / "mlp-numpy-seed0.json").write_text("{}")
        (folder / "multirun.yaml").write_text("hydra: {}\n")
        (folder / "runs.csv").write_text("job,seed\n0-titanic,0\n")
    else:
        _sweep_folder(folder, layout)


@pytest.mark.parametrize("layout", ["another sweep", "sweep before its first record", "runs' folders"])
def test_a_sweep_into_a_folder_of_other_runs_is_refused(layout: str, tmp_path: Path, data_root: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    """Without resume=true a sweep needs a folder of its own: its merge takes in every records/
    folder below it and rewrites the folder's runs.csv and summary.csv."""
    folder = tmp_path / "sweep"
    _other_sweep(folder, layout)
    before = files_in(folder)
    line = refused_in_process(["-m", "+experiment=titanic_sgd", "seed=0,1", f"hydra.sweep.dir={folder}"], capsys)
    if layout == "runs' folders":
        assert line == (f"error: output folder {folder} holds other runs' folders ({folder / '2026-01-01_00-00-00'}), "
                        f"which a sweep's tables would take in as jobs; choose a new hydra.sweep.dir")
    else:
        assert line == (f"error: output folder {folder} already holds a sweep (multirun.yaml); finish it with its "
                        f"own overrides and resume=true, or choose a new hydra.sweep.dir")
    assert files_in(folder) == before


@pytest.mark.parametrize("inside", ["extra", "0/extra"])
@pytest.mark.parametrize("resume", ["false", "true"])
@pytest.mark.parametrize("multirun", [False, True])
def test_a_run_inside_a_sweeps_folder_is_refused(inside: str, resume: str, multirun: bool, tmp_path: Path,
                                                 data_root: Path, capsys: pytest.CaptureFixture) -> None:
    """The sweep's merge, report and resume would take the run (or a sweep's jobs) in as its jobs."""
    sweep = tmp_path / "sweep"
    _sweep_folder(sweep, "sweep")
    folder = sweep / inside
    folder.mkdir(exist_ok=True)
    (folder / "notes.txt").write_text("kept")  # something to resume, so the folder rule is what refuses
    before = files_in(sweep)
    command = ["seed=0,1", f"hydra.sweep.dir={folder}"] if multirun else [f"hydra.run.dir={folder}"]
    line = refused_in_process(["-m"] * multirun + ["+experiment=titanic_sgd", f"resume={resume}", *command], capsys)
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    assert line == (f"error: output folder {folder} is inside the sweep {sweep} (multirun.yaml), whose tables would "
                    f"take it in as a job; choose a {key} outside it")
    assert files_in(sweep) == before


@pytest.mark.parametrize("layout", ["another sweep", "runs' folders"])
def test_resuming_a_sweep_finishes_only_a_sweep_of_its_own(layout: str, tmp_path: Path, data_root: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    """resume=true finishes this sweep: a folder of runs (no multirun.yaml) or another experiment's
    sweep is not it, and its merge would take their runs in as jobs."""
    folder = tmp_path / "sweep"
    _other_sweep(folder, layout)
    if layout == "another sweep":
        (folder / "multirun.yaml").write_text("name: smoke\nhydra: {}\n")
    before = files_in(folder)
    line = refused_in_process(["-m", "+experiment=titanic_sgd", "seed=0,1", "resume=true",
                               f"hydra.sweep.dir={folder}"], capsys)
    if layout == "runs' folders":
        assert line == (f"error: output folder {folder} holds runs' folders but no sweep (multirun.yaml): nothing "
                        f"of this sweep to finish, and its tables would take them in as jobs; choose a new "
                        f"hydra.sweep.dir")
    else:
        assert line == (f"error: output folder {folder} holds the sweep of smoke, not titanic_sgd; finish that "
                        f"one with its own command, or choose a new hydra.sweep.dir")
    assert files_in(folder) == before


@pytest.mark.parametrize("multirun", [False, True])
def test_a_run_or_sweep_inside_a_runs_folder_is_refused(multirun: bool, tmp_path: Path, data_root: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    """A folder below a run's would make that run's folder unresumable (it would hold other runs'
    folders) and its report take the nested runs in."""
    run = tmp_path / "run"
    (run / "records").mkdir(parents=True)
    (run / "records" / "mlp-numpy-seed0.json").write_text("{}")
    before = files_in(run)
    folder = run / "sub"
    command = ["seed=0,1", f"hydra.sweep.dir={folder}"] if multirun else [f"hydra.run.dir={folder}"]
    line = refused_in_process(["-m"] * multirun + ["+experiment=titanic_sgd", *command], capsys)
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    assert line == (f"error: output folder {folder} is inside the run folder {run}, whose tables and report would "
                    f"take it in; choose a {key} outside it")
    assert files_in(run) == before and not folder.exists()


def test_a_run_inside_a_sweep_is_run_there_only_as_its_job(tmp_path: Path, data_root: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    """The run itself refuses a folder inside a sweep's, not the pre-check alone, unless it is one of
    that sweep's jobs (`sweep_job`, which Hydra's multirun mode sets)."""
    from test_harness_disk_full import config

    from harness.run import run_config
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text("name: titanic_sgd\nhydra: {}\n")
    with pytest.raises(SystemExit) as stop:
        run_config(config("runs=1"), sweep / "extra", launcher="basic", command="test")
    assert stop.value.code == 2 and "is inside the sweep" in capsys.readouterr().err
    assert not (sweep / "extra" / "records").exists()
    outcome = run_config(config("runs=1"), sweep / "0", launcher="basic", command="test", sweep_job=True)
    assert len(outcome.done) == 1


def test_a_sweep_without_jobs_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from harness import precheck
    conf = tmp_path / "conf"
    shutil.copytree(precheck.CONF_DIR, conf)
    (conf / "experiment" / "no_jobs.yaml").write_text(
        "# @package _global_\nname: no_jobs\nhydra:\n  sweeper:\n    params:\n      seed: range(0,-2)\n")
    monkeypatch.setattr(precheck, "CONF_DIR", conf)
    with pytest.raises(precheck.BadInput) as refused:
        precheck.check(["-m", "+experiment=no_jobs"])
    assert str(refused.value) == ("the sweep has no jobs: a swept key in hydra.sweeper.params has no values; "
                                  "give each swept key at least one value")


@pytest.fixture()
def data_copy(tmp_path: Path, data_root: Path) -> Path:
    """A data folder of links to the reference files, where a test may replace one file."""
    root = tmp_path / "data"
    for sub in ("mnist", "titanic"):
        (root / sub).mkdir(parents=True)
        for path in (data_root / sub).iterdir():
            (root / sub / path.name).symlink_to(path)
    return root


def _replace(path: Path, content: bytes) -> None:
    path.unlink()
    path.write_bytes(content)


def _labels(data_root: Path) -> bytearray:
    return bytearray(gzip.decompress((data_root / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()))


def _bad_file(kind: str, root: Path, data_root: Path) -> tuple[str, list[str], list[str]]:
    """Corrupt one file; return (experiment, extra overrides, words of the message)."""
    labels = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    csv = root / "titanic" / "train_article.csv"
    frame = pd.read_csv(data_root / "titanic" / "train_article.csv")
    if kind == "truncated gzip":
        _replace(labels, (data_root / "mnist" / labels.name).read_bytes()[:2000])
        return "mnist_cpu", [], ["truncated", labels.name]
    if kind == "not gzip":
        _replace(labels, b"hello")
        return "mnist_cpu", [], ["gzip", labels.name]
    if kind == "checksum":
        content = _labels(data_root)
        content[100] ^= 1
        _replace(labels, gzip.compress(bytes(content)))
        return "mnist_cpu", [], ["checksum", labels.name]
    if kind == "wrong magic":
        content = _labels(data_root)
        content[3] = 2
        _replace(labels, gzip.compress(bytes(content)))
        return "mnist_cpu", ["data.verify=false"], ["t10k"]
    if kind == "wrong dimensions":
        content = _labels(data_root)
        content[4:8] = struct.pack(">i", 9000)
        _replace(labels, gzip.compress(bytes(content[:8 + 9000])))
        return "mnist_cpu", ["data.verify=false"], ["9000"]
    if kind == "missing file":
        labels.unlink()
        return "mnist_cpu", ["data.download=false"], [labels.name]
    if kind == "csv without column":
        csv.unlink()
        frame.drop(columns=["Fare"]).to_csv(csv, index=False)
        return "titanic_sgd", ["data.verify=false"], ["Fare", csv.name]
    frame.loc[3, "Fare"] = float("inf")  # "nan left in features"
    csv.unlink()
    frame.to_csv(csv, index=False)
    return "titanic_sgd", ["data.verify=false"], ["NaN", csv.name]


@pytest.mark.parametrize("kind", ["truncated gzip", "not gzip", "checksum", "wrong magic", "wrong dimensions",
                                  "missing file", "csv without column", "nan left in features"])
def test_bad_data_file_is_refused(kind: str, tmp_path: Path, data_copy: Path, data_root: Path) -> None:
    experiment, extra, words = _bad_file(kind, data_copy, data_root)
    work = tmp_path / "work"
    work.mkdir()
    done = harness([f"+experiment={experiment}", f"data.root={data_copy}", *extra], work)
    assert_refused(done, words, work)


def test_help_works_before_an_experiment_is_chosen(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "harness", "--help"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("mlp-bench: python -m harness +experiment=NAME")
    assert "experiment: ablation_mnist, ablation_titanic, drujba_linreg" in done.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("overrides", [
    ["+experiment=titanic_vs_tf", "seed=0,1", "hydra.sweep.dir=x"],
    ["+experiment=titanic_vs_tf", "+vs_tf_case=article", "learning_rate=0.01,0.02", "seed=range(3)"],
    ["+experiment=ablation_titanic", "seed=0"],
])
def test_sweep_jobs_are_those_hydras_basic_sweeper_makes(overrides: list[str]) -> None:
    """The pre-check's own expansion (Hydra's public override parser) against the basic sweeper's."""
    from hydra import initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper  # the oracle: private, tests only
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    import harness.config  # noqa: F401  (registers the schema)
    from harness import precheck
    with initialize_config_dir(config_dir=str(precheck.CONF_DIR), version_base="1.3"):
        cfg = precheck._compose(precheck._first_values(overrides), True)
        jobs = precheck._job_overrides(overrides, cfg, True)
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    merged = [f"{k}={v}" for k, v in params.items()] + [o for o in overrides if not o.startswith("hydra.")]
    (expected,) = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(merged), None)
    fixed = [o for o in overrides if o.startswith("hydra.")]
    assert jobs == [fixed + job for job in expected] and len(jobs) > 1


def test_an_interval_sweep_is_refused_in_one_line() -> None:
    import harness.config  # noqa: F401  (registers the schema)
    from harness import precheck
    with pytest.raises(precheck.BadInput) as refused:
        precheck.check(["-m", "+experiment=titanic_adam", "learning_rate=interval(0.01,0.1)"])
    assert str(refused.value) == ("learning_rate=interval(0.01,0.1): the basic sweeper sweeps lists and ranges, "
                                  "not intervals; give the values (KEY=a,b or KEY=range(...))")


@pytest.mark.parametrize(("args", "compositions"), [
    (["+experiment=titanic_adam", "runs=1"], 1),  # a single run: its one job is the base config
    (["-m", "+experiment=titanic_adam", "runs=1", "seed=5,6"], 3),  # a sweep: the base, then each job
])
def test_the_precheck_composes_a_single_run_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 args: list[str], compositions: int) -> None:
    """A composition is a fifth of a second of every command's start; a single run's base config is its job's,
    and the job is checked all the same: an output folder that is a file is refused."""
    import harness.config  # noqa: F401  (registers the schema)
    from harness import precheck
    composed: list[list[str]] = []
    real = precheck._compose
    monkeypatch.setattr(precheck, "_compose", lambda overrides, multirun: composed.append(overrides) or real(
        overrides, multirun))
    key = "hydra.sweep.dir" if "-m" in args else "hydra.run.dir"
    assert precheck.check([*args, f"{key}={tmp_path / 'out'}"]) == (key, tmp_path / "out")
    assert len(composed) == compositions
    (tmp_path / "file").write_text("not a folder")
    folder = tmp_path / "file" / "0" if "-m" in args else tmp_path / "file"
    with pytest.raises(precheck.BadInput, match=f"^output folder {folder} (is a file|cannot be written)"):
        precheck.check([*args, f"{key}={tmp_path / 'file'}"])


def test_a_sweep_without_minus_m_is_refused_by_its_jobs_composition() -> None:
    """seed=5,6 without -m: Hydra's own refusal, in one line, as before a single run's job was its base config."""
    import harness.config  # noqa: F401  (registers the schema)
    from harness import precheck
    with pytest.raises(precheck.BadInput, match="seed=5,6"):
        precheck.check(["+experiment=titanic_adam", "seed=5,6"])
