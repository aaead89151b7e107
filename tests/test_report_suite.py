"""`make bench` (harness.suite): expected duration first, GPU step skipped with its reason,
every experiment run in turn, the report built even when one fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import suite

REPO = Path(__file__).resolve().parents[1]


def test_suite_lists_the_articles_experiments() -> None:
    names = [step.experiment for step in suite.SUITE]
    assert names == ["drujba_linreg", "titanic_sgd", "titanic_adam", "titanic_vs_tf", "mnist_vs_tf", "mnist_gpu"]
    assert [s.experiment for s in suite.SUITE if s.needs_gpu] == ["mnist_gpu"]
    assert "backend=numpy" in dict((s.experiment, s.overrides) for s in suite.SUITE)["mnist_vs_tf"]
    for name in names:
        assert (REPO / "conf" / "experiment" / f"{name}.yaml").is_file(), f"no config for {name}"


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
    assert "mnist_gpu" not in ran and len(ran) == 5
    assert out.splitlines()[0].startswith("expected duration: about ")
    assert "mnist_gpu: skipped, no usable GPU (no CUDA driver)" in out
    assert (tmp_path / "results" / "report" / "index.html").is_file()


def test_gpu_step_runs_when_usable(tmp_path: Path) -> None:
    _, ran = _run(tmp_path, {}, usable=True)
    assert ran[-1] == "mnist_gpu"


def test_failure_is_reported_and_report_still_built(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, ran = _run(tmp_path, {"titanic_sgd": 1}, usable=False)
    captured = capsys.readouterr()
    assert code == 1 and len(ran) == 5  # the steps after the failure still ran
    assert "titanic_sgd (exit 1)" in captured.err
    assert (tmp_path / "results" / "report" / "index.html").is_file()


def test_gpu_status_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import mlp_impl.backend as backend

    def broken() -> tuple[bool, str]:
        raise RuntimeError("driver exploded")

    monkeypatch.setattr(backend, "gpu_status", broken)
    usable, reason = suite.gpu_status()
    assert not usable and "driver exploded" in reason
