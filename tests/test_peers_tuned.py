"""The peers' tuned forms (keras_tuned, torch_compiled) train to the accuracy of their plain forms.

Independent references: Keras's own plain `fit` (full-batch training follows the same path in
both forms, so every epoch's loss must agree), eager PyTorch (same weights and minibatches), and
the majority-class rate as a negative control for "trained". Timings are never asserted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import run_impl
from experiments.models import registry, torch_compiled
from experiments.models.spec import spec_from_config

TITANIC = {"layers": [{"units": 15, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
           "loss": "binary_crossentropy", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 100,
           "epochs": 20, "initializer": "xavier"}
# Titanic with steps torch_compiled compiles on the CPU: 600 rows x 267,265 parameters >= 2^27.
WIDE_TITANIC_OVERRIDES = {"batch_size": "600", "layers": "[{units:512,activation:relu},{units:512,activation:relu},"
                                                       "{units:1,activation:sigmoid}]"}
WIDE_TITANIC = {"batch_size": 600, "layers": [{"units": 512, "activation": "relu"}, {"units": 512, "activation": "relu"},
                                              {"units": 1, "activation": "sigmoid"}]}


@pytest.fixture(scope="module")
def titanic(data_root):
    from experiments.data import load_dataset
    return load_dataset("titanic", variant="article", root=data_root)


def train(name: str, ds, seed: int = 0, **spec: object) -> dict:
    impl = registry.get(name)
    backend = impl.resolve_backend("numpy")
    model = spec_from_config({**TITANIC, **spec})
    impl.adapter.check_available(backend)
    impl.adapter.check_plan(model, ds, backend)  # as the harness does: torch_compiled's compiler, where it compiles
    return run_impl(name, model, ds, seed=seed, backend=backend)


def majority_rate(ds) -> float:
    positives = float(ds.y_test.mean())
    return max(positives, 1 - positives)


def test_variants_are_registered_under_their_peer() -> None:
    assert registry.get("keras_tuned").peer == "keras" and registry.get("torch_compiled").peer == "torch"
    assert registry.get("keras").peer == "keras" and registry.get("mlp").peer == "mlp"


def test_keras_tuned_full_batch_follows_keras_epoch_by_epoch(titanic) -> None:
    """One batch per epoch: the order of rows cannot matter, so the long tf.data epoch with one step
    per execution must give plain fit's losses. A running mean (no reset after each epoch) would
    drift away from epoch 2 on."""
    n = len(titanic.x_train)
    plain, tuned = (train(name, titanic, batch_size=n, epochs=12) for name in ("keras", "keras_tuned"))
    assert len(tuned["epoch_losses"]) == 12
    np.testing.assert_allclose(tuned["epoch_losses"], plain["epoch_losses"], rtol=2e-4)
    running = np.cumsum(plain["epoch_losses"]) / np.arange(1, 13)
    assert not np.allclose(tuned["epoch_losses"][1:], running[1:], rtol=2e-4)  # the control differs
    assert tuned["test_accuracy"] == pytest.approx(plain["test_accuracy"], abs=1 / len(titanic.x_test))


def test_keras_tuned_minibatches_reach_keras_accuracy(titanic) -> None:
    plain = [train("keras", titanic, seed)["test_accuracy"] for seed in (0, 1)]
    tuned = [train("keras_tuned", titanic, seed) for seed in (0, 1)]
    assert abs(np.mean([r["test_accuracy"] for r in tuned]) - np.mean(plain)) <= 0.04
    assert min(r["test_accuracy"] for r in tuned) > majority_rate(titanic) + 0.1
    assert all(r["epoch_losses"][-1] < 0.7 * r["epoch_losses"][0] for r in tuned)
    assert all(0 < r["first_epoch_seconds"] <= r["fit_seconds"] for r in tuned)
    assert all(r["compile_seconds"] > 0 for r in tuned)


def test_keras_tuned_compiles_before_the_clock_and_leaves_no_trace(titanic, monkeypatch: pytest.MonkeyPatch) -> None:
    """compile_tuned traces and compiles outside fit_seconds (recorded as compile_seconds, like
    torch_compiled's), the timed fit reuses that trace, and it starts from the same weights and
    optimizer state: a session that skipped it trains to the same losses and weights. Batches of
    64 leave a partial last batch (600 rows), which the untimed execution must run too."""
    from experiments.models import keras_model
    spec = spec_from_config({**TITANIC, "epochs": 6, "batch_size": 64})
    traces, steps_before_restore, compile_tuned = [], [], keras_model.compile_tuned

    def counting_traces(tf, model, *args):
        step, set_weights = model.train_step, model.set_weights

        def traced(data):  # runs once per trace of the train function, never per step
            traces.append(1)
            return step(data)

        def restoring(weights):
            steps_before_restore.append(int(model.optimizer.iterations.numpy()))
            set_weights(weights)
        model.train_step, model.set_weights = traced, restoring
        seconds = compile_tuned(tf, model, *args)
        model.set_weights = set_weights
        return seconds

    monkeypatch.setattr(keras_model, "compile_tuned", counting_traces)
    warmed = keras_model.KerasSession(spec, titanic, seed=4, dtype="float32", tuned=True, deterministic=True)
    traced_before_fit = len(traces)
    warmed_losses = warmed.fit(lambda: None)
    assert len(traces) == traced_before_fit >= 1  # the timed fit reused the trace
    assert steps_before_restore == [10]  # one execution: an epoch's steps
    import tensorflow as tf
    batches = [len(bx) for bx, _ in keras_model.epoch_in_order(tf, titanic.x_train, titanic.y_train, spec)]
    assert batches == [64] * 9 + [24]  # ... over every batch shape of an epoch, the partial one too
    assert warmed.compile_seconds > 0
    monkeypatch.setattr(keras_model, "compile_tuned", lambda *args: None)
    cold = keras_model.KerasSession(spec, titanic, seed=4, dtype="float32", tuned=True, deterministic=True)
    assert cold.compile_seconds is None and cold.model.train_function is None
    cold_losses = cold.fit(lambda: None)
    assert len(warmed_losses) == 6
    # The tuned form runs without op determinism; XLA on the CPU still repeats its sums exactly
    # here, and a missed restore (weights, Adam's moments or step count) moves losses by far more.
    np.testing.assert_allclose(warmed_losses, cold_losses, rtol=1e-5)
    for a, b in zip(warmed.model.get_weights(), cold.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    plain = keras_model.KerasSession(spec, titanic, seed=4, dtype="float32", tuned=False, deterministic=True)
    assert plain.compile_seconds is None  # the article's form keeps its tracing in fit_seconds


def test_keras_tuned_predicts_without_tracing_inside_the_clock(titanic) -> None:
    """XLA compiles the tuned form's predict function too: compile_tuned traces it on the test
    rows' shape, so predict_seconds holds no compilation (it held one: twice plain keras's)."""
    from experiments.models import keras_model
    spec = spec_from_config({**TITANIC, "epochs": 2})
    session = keras_model.KerasSession(spec, titanic, seed=0, dtype="float32", tuned=True, deterministic=True)
    traced = session.model.predict_function.experimental_get_tracing_count()
    session.fit(lambda: None)
    predicted = session.predict()
    assert session.model.predict_function.experimental_get_tracing_count() == traced >= 1
    assert predicted.shape == (len(titanic.x_test), 1)


def test_keras_tuned_pipelines_run_without_autotune(titanic, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both datasets keras_tuned hands to Keras's fit (the untimed compile pass's and the timed
    fit's) run with tf.data's autotuning off (with it on, some fits returned seconds after their
    last epoch), and the timed one still gives fit's epochs: every (row, label) once an epoch,
    the partial last batch kept, a fresh order each epoch."""
    from experiments.models import keras_model
    spec = spec_from_config({**TITANIC, "epochs": 2, "batch_size": 64})
    fitted = []
    build = keras_model.build_model

    def recording(*args, **options):
        model = build(*args, **options)
        fit = model.fit

        def fit_recording(data, *fit_args, **fit_options):
            fitted.append(data)
            return fit(data, *fit_args, **fit_options)
        model.fit = fit_recording
        return model

    monkeypatch.setattr(keras_model, "build_model", recording)
    session = keras_model.KerasSession(spec, titanic, seed=3, dtype="float32", tuned=True, deterministic=True)
    assert len(session.fit(lambda: None)) == 2
    assert len(fitted) == 2  # compile_tuned's execution, then the timed fit
    assert [data.options().autotune.enabled for data in fitted] == [False, False]
    batches = [np.hstack([bx.numpy(), by.numpy()]) for bx, by in fitted[1].take(20)]
    assert [len(b) for b in batches] == ([64] * 9 + [24]) * 2
    epochs = [np.concatenate(batches[:10]), np.concatenate(batches[10:])]
    pairs = np.hstack([session.x_train, session.y_train])
    assert all(sorted(map(tuple, epoch)) == sorted(map(tuple, pairs)) for epoch in epochs)
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[0], pairs)


def test_torch_compiled_trains_like_eager_torch(titanic, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled (the threshold lowered so Titanic's step compiles) or not, the same training."""
    monkeypatch.setattr(torch_compiled, "COMPILE_MIN_WORK", 0)
    eager, compiled = train("torch", titanic), train("torch_compiled", titanic)
    np.testing.assert_allclose(compiled["epoch_losses"], eager["epoch_losses"], rtol=1e-4)
    assert compiled["test_accuracy"] == eager["test_accuracy"] > majority_rate(titanic) + 0.1
    assert compiled["compile_seconds"] > 0 and eager.get("compile_seconds") is None
    assert compiled["threads"] == 1  # a 100-row Titanic step is too small to share


def test_torch_compiled_compiles_only_steps_large_enough_to_pay(titanic) -> None:
    """Titanic's 100-row step of 136 parameters runs eager on one thread, PyTorch's fastest form
    there (compiled it was 1.65 times slower); MNIST's 1000-row step of 476,490 compiles."""
    assert not torch_compiled.compiles(100, 136) and torch_compiled.compiles(1000, 476_490)
    eager, tuned = train("torch", titanic), train("torch_compiled", titanic)
    assert tuned["compile_seconds"] is None and tuned["threads"] == 1
    np.testing.assert_allclose(tuned["epoch_losses"], eager["epoch_losses"], rtol=1e-4)


def test_torch_compiled_threads_follow_the_mlp_split_rule() -> None:
    from mlp_impl.parallel import split_threads
    assert torch_compiled.step_threads(100, 15 * 9 + 15 + 16) == 1
    assert torch_compiled.step_threads(1000, 476_490) == split_threads(None, 1000, 476_490)


def test_thread_setting_is_restored() -> None:
    import torch
    before = torch.get_num_threads()
    with torch_compiled.intra_op_threads(torch, 1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def no_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine as one without a compiler (CXX and CC unset, none on PATH)."""
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setattr(torch_compiled.shutil, "which", lambda name: None)


def test_torch_compiled_refuses_without_a_cpp_compiler_only_where_its_steps_compile(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Titanic's 100-row steps of 136 parameters run eager on the CPU, so they need no compiler;
    600-row steps of 267,265 parameters compile (rows x parameters >= 2^27), as every step on the
    GPU (where Triton's C compiler is the one asked for)."""
    from types import SimpleNamespace
    no_compiler(monkeypatch)
    adapter = registry.get("torch_compiled").adapter
    ds = SimpleNamespace(x_train=np.zeros((600, 7), np.float32), n_features=7)
    adapter.check_available("torch-cpu")  # what the data and network are is not known yet
    adapter.check_plan(spec_from_config(TITANIC), ds, "torch-cpu")  # eager: no compiler needed
    wide = spec_from_config({**TITANIC, **WIDE_TITANIC})
    for spec, backend, wanted in ((wide, "torch-cpu", r"C\+\+ compiler.*apt-get install g\+\+"),
                                  (spec_from_config(TITANIC), "torch-cuda", r"C compiler.*apt-get install gcc\)")):
        with pytest.raises(ValueError, match=rf"needs a {wanted}"):
            adapter.check_plan(spec, ds, backend)
    registry.get("torch").adapter.check_plan(wide, ds, "torch-cpu")  # eager torch needs none


def test_torch_compiled_asks_for_the_compiler_inductor_runs(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """TorchInductor runs $CXX, else g++ (torch._inductor.config.cpp.cxx): a machine with only c++
    or clang++ on its PATH, or CXX set empty, cannot compile, so a compiling plan is refused in
    one line before any run, not inside Inductor."""
    import shutil
    from types import SimpleNamespace
    adapter = registry.get("torch_compiled").adapter
    ds = SimpleNamespace(x_train=np.zeros((600, 7), np.float32), n_features=7)
    wide = spec_from_config({**TITANIC, **WIDE_TITANIC})
    real = shutil.which("true")
    for name in ("c++", "clang++"):
        (tmp_path / name).symlink_to(real)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CXX", raising=False)
    with pytest.raises(ValueError, match=r"needs a C\+\+ compiler .*; g\+\+ not found\): install it \(apt-get "
                                         r"install g\+\+\), or drop"):
        adapter.check_plan(wide, ds, "torch-cpu")
    for cxx, missing in (("", "CXX is empty"), ("no-such-compiler", "CXX=no-such-compiler not found")):
        monkeypatch.setenv("CXX", cxx)  # Inductor runs $CXX alone: installing g++ would not help
        with pytest.raises(ValueError, match=rf"needs a C\+\+ compiler .*; {missing}\): set CXX to an installed "
                                             rf"C\+\+ compiler or unset it \(then g\+\+ is run\), or drop"):
            adapter.check_plan(wide, ds, "torch-cpu")
    monkeypatch.setenv("CXX", "clang++")  # one Inductor will run
    adapter.check_plan(wide, ds, "torch-cpu")
    (tmp_path / "g++").symlink_to(real)
    monkeypatch.delenv("CXX")
    adapter.check_plan(wide, ds, "torch-cpu")


def test_torch_compiled_asks_on_the_gpu_for_the_c_compiler_triton_runs(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path) -> None:
    """On CUDA Inductor generates Triton kernels and a Python wrapper (cpp_wrapper is off): no C++
    compiler runs, but Triton builds its CUDA driver module with $CC, else gcc, else clang
    (triton/runtime/build.py, triton 3.7.1). So a GPU plan on a machine with g++ alone is refused in
    one line naming the C compiler, and one with gcc, clang or $CC but no g++ passes."""
    import shutil
    from types import SimpleNamespace
    adapter = registry.get("torch_compiled").adapter
    ds = SimpleNamespace(x_train=np.zeros((600, 7), np.float32), n_features=7)
    titanic, wide = spec_from_config(TITANIC), spec_from_config({**TITANIC, **WIDE_TITANIC})
    real = shutil.which("true")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.delenv("CXX", raising=False)
    (tmp_path / "g++").symlink_to(real)
    adapter.check_plan(wide, ds, "torch-cpu")  # the CPU's compiler is there
    with pytest.raises(ValueError, match=r"^impls=\[torch_compiled\] needs a C compiler for torch\.compile \(on the "
                                         r"GPU, for Triton; gcc or clang not found\): install one \(apt-get install "
                                         r"gcc\), or drop torch_compiled from impls$"):
        adapter.check_plan(titanic, ds, "torch-cuda")
    for cc, missing in (("", "CC is empty"), ("no-such-compiler", "CC=no-such-compiler not found")):
        monkeypatch.setenv("CC", cc)  # Triton runs $CC alone: installing gcc would not help
        with pytest.raises(ValueError, match=rf"needs a C compiler .*; {missing}\): set CC to an installed C "
                                             rf"compiler or unset it \(then gcc, else clang, is run\), or drop"):
            adapter.check_plan(titanic, ds, "torch-cuda")
    (tmp_path / "cc").symlink_to(real)
    monkeypatch.setenv("CC", "cc")  # one Triton will run
    adapter.check_plan(titanic, ds, "torch-cuda")
    monkeypatch.delenv("CC")
    (tmp_path / "g++").unlink()
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))  # no C++ compiler at all: the GPU needs none
    for name in ("gcc", "clang"):  # either alone, as Triton looks for gcc, else clang
        (tmp_path / name).symlink_to(real)
        adapter.check_plan(titanic, ds, "torch-cuda")
        (tmp_path / name).unlink()
    with pytest.raises(ValueError, match=r"needs a C\+\+ compiler .*no-such-compiler not found"):
        adapter.check_plan(wide, ds, "torch-cpu")  # the CPU still asks for its own


def test_plan_parameters_are_the_torch_network_s() -> None:
    """The plan's check counts the parameters the run's network has (compile_for's rule reads them)."""
    import torch

    from experiments.models.torch_model import build_network
    for n_features, spec in ((7, spec_from_config(TITANIC)), (7, spec_from_config({**TITANIC, **WIDE_TITANIC}))):
        body, _ = build_network(torch, spec, n_features)
        assert torch_compiled.parameter_count(spec, n_features) == sum(p.numel() for p in body.parameters())


def test_harness_refuses_compiling_torch_compiled_alone_and_leaves_it_out_beside_others(
        monkeypatch: pytest.MonkeyPatch, tmp_path, caplog: pytest.LogCaptureFixture, data_root) -> None:
    """Named alone, a tuned form that cannot run is refused before any run (one line, before any
    folder); beside other implementations (a head-to-head) it is left out with one warning and the
    rest still run. Titanic as the suite runs it needs no compiler: its steps run eager."""
    from hydra import compose, initialize_config_dir

    import harness.config  # noqa: F401  (registers the schema)
    from harness import precheck
    from harness.precheck import CONF_DIR
    from harness.validate import make_plan
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    wide = [f"model.{key}={value}" for key, value in WIDE_TITANIC_OVERRIDES.items()]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        eager = compose("config", overrides=["+experiment=titanic_vs_tf", "+vs_tf_case=keras", "impls=[torch_compiled]"])
        beside = compose("config", overrides=["+experiment=titanic_vs_tf", "+vs_tf_case=keras",
                                              "impls=[mlp,torch_compiled]", *wide])
    assert [impl.name for impl in make_plan(eager).impls] == ["torch_compiled"]
    with pytest.raises(precheck.BadInput, match=r"^impls=\[torch_compiled\] needs a C\+\+ compiler.*no-such-compiler "
                                                 r"not found.*or unset it[^\n]*$"):
        precheck.check(["+experiment=titanic_vs_tf", "+vs_tf_case=keras", "impls=[torch_compiled]", *wide,
                        f"hydra.sweep.dir={tmp_path / 'run'}"])
    assert not (tmp_path / "run").exists()
    plan = make_plan(beside)
    assert [impl.name for impl in plan.impls] == ["mlp"] and "no-such-compiler not found" in plan.left_out["torch_compiled"]
    plan.warn_left_out()  # what the job does (tests/test_harness_plan.py runs it through the job)
    assert "torch_compiled left out of this run" in caplog.text and "no-such-compiler not found" in caplog.text


def test_backend_cupy_is_refused_when_leaving_out_torch_compiled_leaves_no_gpu_implementation(
        monkeypatch: pytest.MonkeyPatch, tmp_path, data_root) -> None:
    """On the GPU torch_compiled always compiles: without a compiler it is left out, and sklearn
    alone would run on the CPU although backend=cupy asked for the GPU: refused, with the reason
    torch_compiled could not run (the fix), not "add torch"."""
    import torch
    from hydra import compose, initialize_config_dir

    import harness.config  # noqa: F401  (registers the schema)
    from harness.precheck import CONF_DIR
    from harness.validate import make_plan
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # CUDA as on a GPU machine
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))  # Triton's C compiler, what the GPU needs
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["+experiment=titanic_vs_tf", "+vs_tf_case=keras",
                                           "impls=[sklearn,torch_compiled]", "backend=cupy"])
    with pytest.raises(ValueError, match=r"backend=cupy but no GPU implementation of impls=\['sklearn', "
                                         r"'torch_compiled'\] can run here: impls=\[torch_compiled\] needs a C "
                                         r"compiler .*no-such-compiler not found\): set CC .*; or use "
                                         r"backend=numpy$") as refused:
        make_plan(cfg)
    assert "\n" not in str(refused.value)  # the reason it was left out, not "add torch": it is torch


def test_torch_compiled_asks_for_the_python_headers_its_build_includes(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path) -> None:
    """Both builds include Python.h: Inductor's CPU kernels (Python extensions) look for it in the
    default scheme's include folder and posix_prefix's; Triton's CUDA driver module in the default
    scheme's, Debian's posix_local read as posix_prefix. A plan that compiles on a machine with the
    compiler but no Python.h (no python3-dev) would fail inside Inductor or Triton: it is refused in
    one line naming the folders searched."""
    from types import SimpleNamespace
    adapter = registry.get("torch_compiled").adapter
    ds = SimpleNamespace(x_train=np.zeros((600, 7), np.float32), n_features=7)
    titanic, wide = spec_from_config(TITANIC), spec_from_config({**TITANIC, **WIDE_TITANIC})
    monkeypatch.setattr(torch_compiled.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(torch_compiled, "_include", lambda scheme: tmp_path / scheme)
    monkeypatch.setattr(torch_compiled, "_DEFAULT", "posix_local")
    for scheme in ("posix_local", "posix_prefix"):
        (tmp_path / scheme).mkdir()
    fix = r"install them \(apt-get install python3-dev\), or drop torch_compiled from impls$"
    with pytest.raises(ValueError, match=rf"^impls=\[torch_compiled\] needs Python's C headers for torch\.compile "
                                         rf"\(600-row steps of 267,265 parameters; no Python\.h in "
                                         rf"{tmp_path / 'posix_local'} or {tmp_path / 'posix_prefix'}\): {fix}"):
        adapter.check_plan(wide, ds, "torch-cpu")
    with pytest.raises(ValueError, match=rf"\(on the GPU, for Triton; no Python\.h in {tmp_path / 'posix_prefix'}\)"):
        adapter.check_plan(titanic, ds, "torch-cuda")
    adapter.check_plan(titanic, ds, "torch-cpu")  # eager steps build nothing
    (tmp_path / "posix_local" / "Python.h").write_text("")
    adapter.check_plan(wide, ds, "torch-cpu")  # Inductor's first folder
    with pytest.raises(ValueError, match="needs Python's C headers"):
        adapter.check_plan(titanic, ds, "torch-cuda")  # Triton reads posix_local as posix_prefix
    (tmp_path / "posix_local" / "Python.h").unlink()
    (tmp_path / "posix_prefix" / "Python.h").write_text("")
    adapter.check_plan(wide, ds, "torch-cpu")  # Inductor's second folder
    adapter.check_plan(titanic, ds, "torch-cuda")
    monkeypatch.setattr(torch_compiled, "_DEFAULT", "venv")  # any other scheme: Triton takes it as it is
    with pytest.raises(ValueError, match=rf"\(on the GPU, for Triton; no Python\.h in {tmp_path / 'venv'}\)"):
        adapter.check_plan(titanic, ds, "torch-cuda")


def test_python_headers_are_looked_for_in_sysconfig_s_include_folders() -> None:
    """The folders are sysconfig's own for this interpreter (whose default scheme is not Debian's
    posix_local here: the test above reads that one)."""
    import sysconfig
    assert sysconfig.get_default_scheme() != "posix_local"
    default, prefix = Path(sysconfig.get_paths()["include"]), Path(sysconfig.get_paths(scheme="posix_prefix")["include"])
    assert torch_compiled.compiler_for("torch-cpu").includes == tuple(dict.fromkeys((default, prefix)))
    assert torch_compiled.compiler_for("torch-cuda").includes == (default,)
