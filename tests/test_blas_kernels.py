"""Which kernels NumPy's OpenBLAS ran, whether the environment forced them, and what the page and the
suite say when it did (harness.blas_kernels)."""

from __future__ import annotations

import os
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


def test_the_named_core_type_is_the_one_numpy_loads() -> None:
    """A fresh interpreter told OPENBLAS_CORETYPE=Nehalem (kernels any x86-64 CPU of the last fifteen years runs) reports
    them, and reports OpenBLAS's own choice, something else, without it: what by_itself asks."""
    ask = [sys.executable, "-c", "from harness.blas_kernels import loaded_kernels; print(loaded_kernels())"]
    environ = {k: v for k, v in os.environ.items() if k not in blas_kernels.SET_BY} | {"PYTHONPATH": str(REPO)}
    forced = subprocess.run(ask, env=environ | {"OPENBLAS_CORETYPE": "Nehalem"}, capture_output=True, text=True,
                            check=True).stdout.strip()
    own = subprocess.run(ask, env=environ, capture_output=True, text=True, check=True).stdout.strip()
    assert forced == "Nehalem"
    assert own not in ("", "None", "Nehalem")


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


def test_own_choice_is_asked_only_when_forced_and_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blas_kernels, "by_itself", lambda: "SkylakeX")
    monkeypatch.setattr(blas_kernels, "loaded_kernels", lambda: "Haswell")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    assert blas_kernels.kernels() == {"blas_kernels": "Haswell", "blas_kernels_set_by": "OPENBLAS_CORETYPE=Haswell",
                                      "blas_kernels_by_itself": "SkylakeX"}
    assert blas_kernels.kernels(ask=False)["blas_kernels_by_itself"] is None
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
        "environment (by itself it picks SkylakeX on this CPU)")
    assert blas_kernels.forced_text({**FORCED, "blas_kernels_by_itself": None}).endswith(
        "(what it picks by itself was not found)")
    assert blas_kernels.unset_command(FORCED) == "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE"


def test_every_record_carries_the_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """environment.json holds the facts and each record's settings carry them; with the rate not measured
    (the test suite's switch) no interpreter is started to ask OpenBLAS's own choice."""
    monkeypatch.setenv(RATE_SWITCH, "0")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setattr(blas_kernels, "by_itself", lambda: pytest.fail("asked while measuring is off"))
    captured = environment.capture({}, "cmd", argv=[])
    assert captured["blas_kernels_set_by"].startswith("OPENBLAS_CORETYPE=Haswell")
    assert captured["blas_kernels"] == blas_kernels.loaded_kernels()
    settings = machine_settings(captured)
    assert {key: settings[f"machine.{key}"] for key in FORCED} == \
        {key: captured[key] for key in FORCED}
    monkeypatch.setenv(RATE_SWITCH, "1")
    monkeypatch.setattr(blas_kernels, "by_itself", lambda: "SkylakeX")
    monkeypatch.setattr(environment, "machine_rates", lambda measure: {})  # the rate is not the point here
    assert environment.capture({}, "cmd", argv=[])["blas_kernels_by_itself"] == "SkylakeX"
    assert environment.capture({"measure_rate": False}, "cmd", argv=[])["blas_kernels_by_itself"] is None


def _runs(*rows: tuple[str, dict]) -> pd.DataFrame:
    return pd.DataFrame([{"backend": backend, "settings": {f"machine.{k}": v for k, v in facts.items()}}
                         for backend, facts in rows])


def test_the_section_says_forced_kernels_once_for_numpy_s_runs() -> None:
    from harness.reporting.machine_rate import forced_kernels_notes

    said = forced_kernels_notes(_runs(("numpy", FORCED), ("numpy", FORCED), ("tensorflow", FORCED)))
    assert said == [
        "NumPy's OpenBLAS ran its Haswell kernels, set by OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512 in the "
        "environment (by itself it picks SkylakeX on this CPU): the from-scratch MLP's matrix products, "
        "scikit-learn's and the matmul rate the MLP's share is measured against ran on them, while TensorFlow and "
        "PyTorch use libraries of their own, so the times against those peers carry that setting as well as the "
        "implementations (to time NumPy on OpenBLAS's own choice, prefix the command with: "
        "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)."]
    assert forced_kernels_notes(_runs(("tensorflow", FORCED))) == []  # no NumPy run: nothing it changes
    assert forced_kernels_notes(_runs(("numpy", {**FORCED, "blas_kernels_by_itself": "Haswell"}))) == []
    assert forced_kernels_notes(_runs(("numpy", {}))) == []  # records older than the fact
    assert forced_kernels_notes(pd.DataFrame({"backend": ["numpy"], "settings": [None]})) == []


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
        "the environment (by itself it picks SkylakeX on this CPU); every NumPy time and the matmul rate will show "
        "it, the report says so (for OpenBLAS's own choice: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE make bench)")
    monkeypatch.setattr(blas_kernels, "kernels", lambda: {**FORCED, "blas_kernels_set_by": None})
    assert suite.kernels_note() is None
    monkeypatch.setenv(RATE_SWITCH, "0")
    monkeypatch.setattr(blas_kernels, "kernels", lambda: pytest.fail("asked while measuring is off"))
    assert suite.kernels_note() is None
