"""Which kernels NumPy's OpenBLAS ran, whether the environment forced them, and what the page and the
suite say when it did (harness.blas_kernels)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness import blas_kernels, environment
from harness.machine import RATE_SWITCH
from harness.run_settings import machine_settings

FORCED = {"blas_kernels": "Haswell", "blas_kernels_set_by": "OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512",
          "blas_kernels_by_itself": "SkylakeX"}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_answer():
    blas_kernels.by_itself.cache_clear()
    yield
    blas_kernels.by_itself.cache_clear()


def test_only_a_named_core_type_forces_the_kernels() -> None:
    assert blas_kernels.set_by({}) is None
    assert blas_kernels.set_by({"OPENBLAS_CORETYPE": ""}) is None  # empty: OpenBLAS chooses
    assert blas_kernels.set_by({"OPENBLAS_L2_SIZE": "512"}) is None  # a cache size picks no kernels
    assert blas_kernels.set_by({"OPENBLAS_CORETYPE": "Haswell"}) == "OPENBLAS_CORETYPE=Haswell"
    assert blas_kernels.set_by({"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512", "OMP_NUM_THREADS": "1"}) \
        == "OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512"


def _x86_openblas() -> None:
    """The core-type names below are OpenBLAS's x86-64 ones: elsewhere they mean nothing."""
    if platform.machine().lower() not in ("x86_64", "amd64") or blas_kernels.loaded_kernels() is None:
        pytest.skip("needs NumPy's OpenBLAS on x86-64 (the core types named here are x86-64's)")


def _loaded_in_child(**forced: str) -> str:
    ask = [sys.executable, "-c", "from harness.blas_kernels import loaded_kernels; print(loaded_kernels())"]
    environ = {k: v for k, v in os.environ.items() if k not in blas_kernels.SET_BY} | {"PYTHONPATH": str(REPO)}
    return subprocess.run(ask, env=environ | forced, capture_output=True, text=True, check=True).stdout.strip()


def _other_than(own: str) -> str:
    """A core type every x86-64 CPU of the last fifteen years runs, not OpenBLAS's own choice."""
    return "Sandybridge" if own == "Nehalem" else "Nehalem"


def test_the_named_core_type_is_the_one_numpy_loads() -> None:
    """A fresh interpreter told OPENBLAS_CORETYPE=Nehalem (or, where that is OpenBLAS's own choice,
    another) loads those kernels, not its own choice: what loaded_kernels reports."""
    _x86_openblas()
    own = _loaded_in_child()
    assert own not in ("", "None")
    forced = _other_than(own)
    assert _loaded_in_child(OPENBLAS_CORETYPE=forced) == forced


def test_openblas_s_own_choice_is_asked_of_a_real_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    """No fake: with a core type set here, by_itself starts an interpreter without it and reads back
    OpenBLAS's own choice (what a child started without the variables loads)."""
    _x86_openblas()
    own = _loaded_in_child()
    monkeypatch.setenv("OPENBLAS_CORETYPE", _other_than(own))
    assert blas_kernels.by_itself() == own


def test_openblas_s_own_choice_is_asked_without_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []

    def child(command, *, env, **kwargs):
        asked.append(env)
        return subprocess.CompletedProcess(command, 0, stdout="SkylakeX\n", stderr="")

    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "512")
    monkeypatch.setenv("KEEP_ME", "1")
    monkeypatch.setattr(blas_kernels.subprocess, "run", child)
    assert blas_kernels.by_itself() == "SkylakeX"
    assert blas_kernels.by_itself() == "SkylakeX" and len(asked) == 1  # once per process
    assert not set(blas_kernels.SET_BY) & set(asked[0]) and asked[0]["KEEP_ME"] == "1"


@pytest.mark.parametrize("outcome", [subprocess.TimeoutExpired("python", 60), OSError("no python"),
                                     subprocess.CompletedProcess("python", 1, stdout="", stderr="ImportError"),
                                     subprocess.CompletedProcess("python", 0, stdout="\n", stderr="")])
def test_an_answer_that_cannot_be_had_is_none(monkeypatch: pytest.MonkeyPatch, outcome) -> None:
    def child(*args, **kwargs):
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(blas_kernels.subprocess, "run", child)
    assert blas_kernels.by_itself() is None


def test_own_choice_is_asked_only_when_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blas_kernels, "by_itself", lambda: "SkylakeX")
    monkeypatch.setattr(blas_kernels, "loaded_kernels", lambda: "Haswell")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    assert blas_kernels.kernels() == {"blas_kernels": "Haswell", "blas_kernels_set_by": "OPENBLAS_CORETYPE=Haswell",
                                      "blas_kernels_by_itself": "SkylakeX"}
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    monkeypatch.setattr(blas_kernels, "by_itself", lambda: pytest.fail("asked although nothing was forced"))
    assert blas_kernels.kernels() == {"blas_kernels": "Haswell", "blas_kernels_set_by": None,
                                      "blas_kernels_by_itself": None}


def test_slowed_means_forced_onto_kernels_it_would_not_pick() -> None:
    assert blas_kernels.slowed(FORCED)
    assert blas_kernels.slowed({**FORCED, "blas_kernels_by_itself": None})  # own choice unknown: said
    assert not blas_kernels.slowed({**FORCED, "blas_kernels_by_itself": "Haswell"})  # forced what it picks anyway
    assert not blas_kernels.slowed({**FORCED, "blas_kernels_set_by": None})
    assert not blas_kernels.slowed({**FORCED, "blas_kernels": None})  # not OpenBLAS
    assert not blas_kernels.slowed({})  # a record older than the fact


def test_the_words_name_the_kernels_the_variables_and_the_way_out() -> None:
    assert blas_kernels.forced_text(FORCED) == (
        "NumPy's OpenBLAS ran its Haswell kernels, set by OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512 in the "
        "environment (by itself it picks SkylakeX on that CPU)")
    assert blas_kernels.forced_text({**FORCED, "blas_kernels_by_itself": None}).endswith(
        "(what it picks by itself could not be found)")
    assert blas_kernels.forced_text(FORCED, "runs").startswith("NumPy's OpenBLAS runs its Haswell kernels")
    assert blas_kernels.forced_text(FORCED, "runs").endswith("(by itself it picks SkylakeX on this CPU)")
    assert blas_kernels.unset_command(FORCED) == "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"


def test_every_record_carries_the_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """environment.json holds the facts and each record's settings carry them, OpenBLAS's own choice
    asked whether or not the rate is measured (the page's note must not guess it)."""
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setattr(blas_kernels, "by_itself", lambda: "SkylakeX")
    for switch in ("0", "1"):
        monkeypatch.setenv(RATE_SWITCH, switch)
        captured = environment.capture({"measure_rate": switch == "1"}, "cmd", argv=[])
        assert captured["blas_kernels_set_by"].startswith("OPENBLAS_CORETYPE=Haswell")
        assert captured["blas_kernels"] == blas_kernels.loaded_kernels()
        assert captured["blas_kernels_by_itself"] == "SkylakeX"
        settings = machine_settings(captured)
        assert {key: settings[f"machine.{key}"] for key in FORCED} == {key: captured[key] for key in FORCED}
        monkeypatch.setattr(environment, "machine_rates", lambda measure: {})  # measured once is enough


MEASURED = {"matmul_rate_status": "measured"}


def _runs(*rows: tuple[str, str, dict]) -> pd.DataFrame:
    """Runs (impl, backend, machine facts) as the report reads them, float32."""
    return pd.DataFrame([{"impl": impl, "backend": backend, "dtype": "float32",
                          "settings": {f"machine.{k}": v for k, v in facts.items()}}
                         for impl, backend, facts in rows])


def test_the_section_says_forced_kernels_once_for_what_they_touched() -> None:
    from harness.reporting.machine_rate import forced_kernels_notes

    forced = {**FORCED, **MEASURED}
    said = forced_kernels_notes(_runs(("mlp", "numpy", forced), ("mlp_fused", "numpy", forced),
                                      ("sklearn", "sklearn", forced), ("keras", "tensorflow", forced),
                                      ("torch", "torch-cpu", {})))
    assert said == [
        "NumPy's OpenBLAS ran its Haswell kernels, set by OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512 in the "
        "environment (by itself it picks SkylakeX on that CPU) for all 3 runs that multiply through NumPy here "
        "(mlp, mlp_fused, sklearn), and for the matmul rate their share is measured against; keras, torch use "
        "libraries of their own, so the times against them carry that setting as well as the implementations (to "
        "time NumPy on OpenBLAS's own choice, prefix the command with: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)."]


def test_the_note_counts_the_forced_runs_and_leaves_out_what_did_not_happen() -> None:
    from harness.reporting.machine_rate import forced_kernels_notes

    own = {**FORCED, "blas_kernels_set_by": None, "blas_kernels_by_itself": None, "blas_kernels": "SkylakeX"}
    half = forced_kernels_notes(_runs(("mlp", "numpy", FORCED), ("mlp", "numpy", own)))
    assert half == ["NumPy's OpenBLAS ran its Haswell kernels, set by OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512 "
                    "in the environment (by itself it picks SkylakeX on that CPU) for 1 of the 2 runs that multiply "
                    "through NumPy here (mlp) (to time NumPy on OpenBLAS's own choice, prefix the command with: "
                    "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)."]  # no rate measured, no peer: neither said
    assert "for the 1 run that multiplies through NumPy here (mlp)" in forced_kernels_notes(_runs(("mlp", "numpy", FORCED)))[0]
    float64 = _runs(("mlp", "numpy", {**FORCED, **MEASURED})).assign(dtype="float64")
    assert "matmul rate" not in forced_kernels_notes(float64)[0]  # no share of the rate in float64
    assert forced_kernels_notes(_runs(("sklearn", "sklearn", FORCED)))[0].endswith(
        "(sklearn) (to time NumPy on OpenBLAS's own choice, prefix the command with: "
        "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE).")  # scikit-learn's MLP multiplies through NumPy
    unknown = {**FORCED, "blas_kernels_by_itself": None}
    assert len(forced_kernels_notes(_runs(("mlp", "numpy", FORCED), ("mlp", "numpy", unknown)))) == 2


def test_no_note_where_nothing_multiplied_on_forced_kernels() -> None:
    from harness.reporting.machine_rate import forced_kernels_notes

    assert forced_kernels_notes(_runs(("keras", "tensorflow", FORCED))) == []  # no NumPy run: nothing it changes
    assert forced_kernels_notes(_runs(("mlp", "cupy", FORCED))) == []  # on the GPU
    assert forced_kernels_notes(_runs(("mlp", "numpy", {**FORCED, "blas_kernels_by_itself": "Haswell"}))) == []
    assert forced_kernels_notes(_runs(("mlp", "numpy", {}))) == []  # records older than the fact
    assert forced_kernels_notes(pd.DataFrame({"impl": ["mlp"], "backend": ["numpy"], "settings": [None]})) == []


def test_a_section_of_forced_runs_carries_the_note(tmp_path: Path) -> None:
    from harness.records import write_record
    from harness.reporting import batches, build, tables

    folder = tmp_path / "titanic_adam" / "2026-01-01_00-00-00"
    for seed in range(3):
        write_record(folder, dict(experiment="titanic_adam", impl="mlp", backend="numpy", dataset="titanic",
                                  seed=seed, status="ok", fit_seconds=0.1,
                                  settings={f"machine.{k}": v for k, v in FORCED.items()}))
    runs, _ = batches.select_latest(batches.load_batches([tmp_path]))
    said = build._notes(tables.summary_table(runs), runs, [])
    assert [n for n in said if n.startswith("NumPy's OpenBLAS ran its Haswell kernels")]


def test_the_suite_opens_with_the_note_only_when_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import suite

    monkeypatch.setenv(RATE_SWITCH, "1")
    monkeypatch.setattr(blas_kernels, "kernels", lambda: FORCED)
    assert suite.kernels_note() == (
        "note: NumPy's OpenBLAS runs its Haswell kernels, set by OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512 in "
        "the environment (by itself it picks SkylakeX on this CPU); NumPy's matrix products and the matmul rate "
        "will show it, the report says so (for OpenBLAS's own choice: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "
        "make bench)")
    monkeypatch.setattr(blas_kernels, "kernels", lambda: {**FORCED, "blas_kernels_set_by": None})
    assert suite.kernels_note() is None
    monkeypatch.setenv(RATE_SWITCH, "0")
    monkeypatch.setattr(blas_kernels, "kernels", lambda: pytest.fail("asked while measuring is off"))
    assert suite.kernels_note() is None


def test_the_suite_prints_its_note_after_the_forecast_and_before_the_first_experiment(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from harness import suite

    steps = (suite.Step("titanic_sgd"),)
    assert suite.run_suite(steps, results=tmp_path, runner=lambda step: print("ran", step.experiment) or 0,
                           status=lambda: (False, "no GPU"), kernels=lambda: "note: forced") in (0, 1)
    out = capsys.readouterr().out.splitlines()
    assert out.index("note: forced") == out.index(next(l for l in out if l.startswith("  titanic_sgd"))) + 1
    assert out.index("note: forced") < out.index("ran titanic_sgd")
