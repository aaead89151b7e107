"""`make bench` (harness.suite): expected duration first, GPU step skipped with its reason,
every experiment run in turn, the report built even when one fails."""

from __future__ import annotations

import math
from itertools import product
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

import harness.config  # noqa: F401  (registers the schema)
from harness import suite
from harness.algorithm import classify
from harness.precheck import CONF_DIR
from harness.run_settings import dotted_settings
from harness.reporting import article_numbers

REPO = Path(__file__).resolve().parents[1]


def test_suite_lists_the_articles_experiments() -> None:
    names = [step.experiment for step in suite.SUITE]
    assert names == ["drujba_linreg", "titanic_sgd", "titanic_adam", "titanic_vs_tf", "mnist_vs_tf",
                     "ablation_titanic", "mnist_gpu"]
    assert [s.experiment for s in suite.SUITE if s.needs_gpu] == ["mnist_gpu"]
    overrides = dict((s.experiment, s.overrides) for s in suite.SUITE)
    assert overrides["mnist_vs_tf"] == ("backend=numpy",)
    for name in names:
        assert (REPO / "conf" / "experiment" / f"{name}.yaml").is_file(), f"no config for {name}"


# Numbers the suite measures only with another algorithm than the article's; the report would
# show them "not comparable", saying why. None: titanic_vs_tf_article runs the article's for 16.7.
NOT_IN_SUITE: set[str] = set()


# Feature counts of the data sets (the model takes its input width from the data), and their train
# and test rows (before data.limit_train and data.limit_test).
FEATURES = {("titanic", "article"): 7, ("titanic", "kaggle"): 9, ("mnist", "mnist"): 784, ("drujba", "article"): 1}
ROWS = {("titanic", "article"): (600, 281), ("titanic", "kaggle"): (600, 291), ("mnist", "mnist"): (60000, 10000)}
# Record fields named by another key in the config.
CONFIG_KEYS = {"dataset": "data.name", "variant": "data.variant"}


def _setting(cfg: DictConfig, key: str) -> object:
    """A reference entry's config key read from a composed config (keys as the records name them)."""
    data = (cfg.data.name, cfg.data.variant)
    if key == "layers":
        features = cfg.model.input_dim or FEATURES[data]
        return "-".join(str(v) for v in [features, *(layer.units for layer in cfg.model.layers)])
    if key == "activations":
        return ",".join(layer.activation for layer in cfg.model.layers)
    if key in ("n_train", "n_test"):
        rows, limit = ROWS[data][key == "n_test"], cfg.data[key.replace("n_", "limit_")]
        return rows if limit is None else min(rows, limit)
    key = CONFIG_KEYS.get(key, key)
    return OmegaConf.select(cfg, key if "." in key or key == "sampling" else f"model.{key}")


def _suite_setups(experiment: str) -> list[DictConfig]:
    """The configs `make bench` runs `experiment` with: one per job of its sweep (seeds aside), none
    when the suite does not run it."""
    step = next((s for s in suite.SUITE if s.experiment == experiment), None)
    if step is None:
        return []
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        base = [f"+experiment={experiment}", *step.overrides]
        params = compose(config_name="config", overrides=base, return_hydra_config=True).hydra.sweeper.params or {}
        jobs = [[f"{key}={value.strip()}" for key, value in zip(params, values)]
                for values in product(*(str(v).split(",") for v in params.values()))]
        return [compose(config_name="config", overrides=[*base, *job]) for job in jobs]


def _matches(entry: dict, cfg: DictConfig) -> bool:
    """The setup is the entry's `config` and, for a number of the article's algorithm, all of it."""
    if not all(_equal(_setting(cfg, key), value) for key, value in (entry.get("config") or {}).items()):
        return False
    settings = dotted_settings(OmegaConf.to_container(cfg, resolve=True))
    return entry.get("algorithm") != "article" or classify(settings) == "article"


def test_suite_runs_the_articles_setup_for_every_number() -> None:
    """Each article number with a setup is measured by a suite step that runs exactly that setup,
    the algorithm included (harness.algorithm.classify: every component at the article's value)."""
    served = {}
    numbers = [e for e in article_numbers.load_reference()["numbers"] if e.get("config")]
    for entry in numbers:
        runnable = [name for name in entry["experiments"] if any(_matches(entry, cfg) for cfg in _suite_setups(name))]
        if runnable:
            served[entry["id"]] = runnable[0]
    assert {e["id"] for e in numbers} - set(served) == NOT_IN_SUITE
    # the vs_tf sweeps' article cases run mnist_cpu's and titanic_vs_tf_article's setups (same seeds)
    assert served["mnist_cpu_last_loss"] == "mnist_vs_tf" and served["mnist_cpu_first_loss"] == "mnist_vs_tf"
    assert served["titanic_vs_tf_error_gap"] == "titanic_vs_tf" and served["mnist_vs_tf_misclassified_gap"] == "mnist_vs_tf"
    assert served["mnist_gpu_last_loss"] == "mnist_gpu" and served["mnist_vs_tf_keras_misclassified"] == "mnist_vs_tf"


def _equal(ours: object, theirs: object) -> bool:
    if isinstance(theirs, float):
        return isinstance(ours, (int, float)) and math.isclose(ours, theirs)
    return ours == theirs


def test_command_is_the_harness_cli() -> None:
    step = suite.Step("titanic_sgd")
    assert step.command()[1:] == ["-m", "harness", "+experiment=titanic_sgd", "quiet=false"]


def _run(tmp_path: Path, codes: dict[str, int], usable: bool) -> tuple[int, list[str]]:
    ran: list[str] = []

    def runner(step: suite.Step) -> int:
        ran.append(step.experiment)
        return codes.get(step.experiment, 0)

    code = suite.run_suite(suite.SUITE, results=tmp_path / "results", runner=runner,
                           status=lambda: (usable, "no CUDA driver"))
    return code, ran


def test_gpu_step_skipped_with_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, ran = _run(tmp_path, {}, usable=False)
    out = capsys.readouterr().out
    assert code == 0
    assert "mnist_gpu" not in ran and len(ran) == len(suite.SUITE) - 1
    assert out.splitlines()[0].startswith("expected duration: about ")
    assert "mnist_gpu: skipped, no usable GPU (no CUDA driver)" in out
    assert (tmp_path / "results" / "report" / "index.html").is_file()


def test_gpu_step_runs_when_usable(tmp_path: Path) -> None:
    _, ran = _run(tmp_path, {}, usable=True)
    assert ran[-1] == "mnist_gpu"


def test_failure_is_reported_and_report_still_built(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, ran = _run(tmp_path, {"titanic_sgd": 1}, usable=False)
    captured = capsys.readouterr()
    assert code == 1 and len(ran) == len(suite.SUITE) - 1  # the steps after the failure still ran
    assert "titanic_sgd (exit 1)" in captured.err
    assert (tmp_path / "results" / "report" / "index.html").is_file()


def test_gpu_status_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlp_impl.backend as backend

    def broken() -> tuple[bool, str]:
        raise RuntimeError("driver exploded")

    monkeypatch.setattr(backend, "gpu_status", broken)
    usable, reason = suite.gpu_status()
    assert not usable and "driver exploded" in reason


def test_expected_time_per_experiment_first_and_remaining_time_as_it_goes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    steps = (suite.Step("titanic_sgd", expected_seconds=45), suite.Step("titanic_adam", expected_seconds=105),
             suite.Step("mnist_cpu", expected_seconds=285))
    code = suite.run_suite(steps, results=tmp_path / "results", runner=lambda step: 0, status=lambda: (False, "-"))
    out = capsys.readouterr().out.splitlines()
    # each estimate plus 15 s of startup: 1.0, 2.0 and 5.0 min, 8 in all, against the 30-minute budget
    assert code == 0
    assert out[:4] == ["expected duration: about 8 min on a two-core CPU machine (budget 30 min)",
                       "  titanic_sgd: ~1.0 min (estimate)", "  titanic_adam: ~2.0 min (estimate)",
                       "  mnist_cpu: ~5.0 min (estimate)"]
    done = [line for line in out if ": exit 0 after " in line]
    assert [line.split("; ")[1] for line in done] == ["remaining: about 7.0 min (2 to run)",
                                                      "remaining: about 5.0 min (1 to run)",
                                                      "remaining: about 0.0 min (0 to run)"]
    assert any(line.startswith("[2/3] titanic_adam (expected ~2.0 min): python -m harness") for line in out)


def test_a_fresh_forecast_is_the_budget_machine_s_and_within_the_budget(tmp_path: Path) -> None:
    """With no earlier results the forecast is the suite's estimates, which are the budget's machine's
    (the README's two-core Xeon, where the whole suite took 22.7 min on 2026-12-02): a fresh
    make bench there must not warn of exceeding the budget it keeps (it did, from a slower EPYC's)."""
    runnable, _ = suite.plan(suite.SUITE, status=lambda: (False, "no GPU"))
    lines = suite.expected_text(runnable, tmp_path / "results").splitlines()
    assert lines[0] == "expected duration: about 24 min on a two-core CPU machine (budget 30 min)"
    assert not any(line.startswith("warning") for line in lines)
    assert abs(sum(step.expected_seconds for step in runnable) - 22.7 * 60) < 60  # startup aside


def test_expected_time_over_the_budget_is_said(tmp_path: Path) -> None:
    within = suite.expected_text([suite.Step("titanic_sgd", expected_seconds=30 * 60 - 15)], tmp_path)
    over = suite.expected_text([suite.Step("titanic_sgd", expected_seconds=30 * 60 - 14)], tmp_path)
    assert "warning" not in within
    assert over.splitlines()[-1] == "warning: the expected 30.0 min exceed the budget of 30.0 min"



def test_help_says_the_whole_first_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    """--help's description is the docstring's first paragraph (its first line stopped mid-sentence)."""
    with pytest.raises(SystemExit):
        suite.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "then build the report and say where it is." in out


def _a_record_linked_to_nothing(results: Path) -> Path:
    """An earlier run of titanic_sgd under `results`, its record a link to nothing (a volume not mounted here)."""
    from harness.records import write_record
    run_dir = results.resolve() / "titanic_sgd" / "2026-01-01_00-00-00"
    path = write_record(run_dir, dict(experiment="titanic_sgd", impl="mlp", backend="numpy", dataset="titanic",
                                      seed=0, status="ok", fit_seconds=1.0, test_accuracy=0.8))
    path.unlink()
    path.symlink_to("/nonexistent")
    return path


def test_a_record_it_cannot_read_is_refused_before_any_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """make bench reads the last runs' records for its forecast, and its report at the end reads every
    record under results/: a record the OS will not let it read ended the suite in a traceback before any
    step (or, elsewhere under results/, failed only its report after every step). One line now, exit 2,
    before any step runs."""
    path = _a_record_linked_to_nothing(tmp_path / "results")
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        _run(tmp_path, {}, usable=False)
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"error: make bench: cannot read {path} (No such file or directory (ENOENT)); make it readable, or move it "
        f"out of {path.parent}, then run make bench again\n")
    assert not (tmp_path / "results" / "report").exists()


def test_a_record_unreadable_by_the_report_step_is_said_in_the_reports_words(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One that becomes unreadable while the suite runs fails its report step (exit 1, the steps' runs
    are on disk) in the report's line, which said resume's ('resume: ... to run it again')."""
    results = tmp_path / "results"
    paths: list[Path] = []

    def runner(step: suite.Step) -> int:
        if not paths:
            paths.append(_a_record_linked_to_nothing(results))
        return 0
    code = suite.run_suite(suite.SUITE[:1], results=results, runner=runner, status=lambda: (False, "-"))
    assert code == 1
    assert capsys.readouterr().err == (
        f"failed: report (report: cannot read {paths[0]} (No such file or directory (ENOENT)); make it readable, or "
        f"move it out of {paths[0].parent}, then build the report again with python -m harness.report {results}; "
        f"the previous report in {results / 'report'} is left as it was)\n")
