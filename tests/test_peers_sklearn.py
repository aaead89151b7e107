"""The scikit-learn peer: all epochs run, the spec maps onto MLP* faithfully, unsupported specs fail clearly."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from experiments.data import Dataset
from conftest import run_impl
from experiments.models import registry, sklearn_model
from experiments.models.spec import spec_from_config


def test_epoch_clock_counts_iterations_and_passes_other_lines_intact(capsys) -> None:
    ticks = []
    clock = sklearn_model.EpochClock(lambda: ticks.append(1))
    for text in ("Iteration 1, loss = 0.5", "\n", "warning one", "\n", "warning two", "\n"):
        clock.write(text)
    assert len(ticks) == 1
    assert capsys.readouterr().out == "warning one\nwarning two\n"

pytest.importorskip("sklearn")

TITANIC = {"layers": [{"units": 15, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
           "loss": "binary_crossentropy", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 100,
           "epochs": 5, "initializer": "xavier"}


@pytest.fixture(scope="module")
def titanic(data_root):
    from experiments.data import load_dataset
    return load_dataset("titanic", variant="article", root=data_root)


def run(spec_cfg: dict, ds, seed: int = 0, dtype: str = "float32") -> dict:
    return run_impl("sklearn", spec_from_config(spec_cfg), ds, seed=seed, dtype=dtype, sampling="article")


def test_runs_exactly_the_epochs_asked_even_without_progress(titanic) -> None:
    # a learning rate this small stalls the loss: sklearn's defaults would stop after ~11 epochs
    record = run({**TITANIC, "epochs": 30, "learning_rate": 1e-9}, titanic)
    assert len(record["epoch_losses"]) == 30
    assert record["sampling"] == "shuffle" and record["initializer"] == "sklearn_glorot_uniform"


def test_loss_falls_and_seed_repeats(titanic) -> None:
    first, again = run(TITANIC, titanic), run(TITANIC, titanic)
    assert first["epoch_losses"][-1] < first["epoch_losses"][0]
    assert first["epoch_losses"] == again["epoch_losses"]


def test_spec_maps_onto_mlp_classifier() -> None:
    spec = spec_from_config({**TITANIC, "layers": [{"units": 15, "activation": "tanh"}, {"units": 9, "activation": "tanh"},
                                                   {"units": 1, "activation": "sigmoid"}], "l2": 0.001})
    params = sklearn_model.build_model(spec, "binary", 600, seed=3).get_params()
    assert params["hidden_layer_sizes"] == (15, 9) and params["activation"] == "tanh"
    assert params["solver"] == "adam" and params["learning_rate_init"] == 0.01 and params["epsilon"] == 1e-7
    assert params["max_iter"] == 5 and params["n_iter_no_change"] == 6 and params["tol"] == 0.0
    assert params["early_stopping"] is False and params["shuffle"] is True and params["random_state"] == 3
    assert params["alpha"] == pytest.approx(2 * 0.001 * 100)  # 0.5 * alpha / batch == l2
    sgd = sklearn_model.build_model(spec_from_config({**TITANIC, "optimizer": "sgd", "momentum": 0.9}), "binary", 50, 0)
    assert sgd.solver == "sgd" and sgd.momentum == 0.9 and sgd.nesterovs_momentum is False and sgd.batch_size == 50


@pytest.mark.parametrize("change,words", [
    ({"layers": [{"units": 4, "activation": "relu"}, {"units": 4, "activation": "tanh"},
                 {"units": 1, "activation": "sigmoid"}]}, "one activation for every hidden layer"),
    ({"layers": [{"units": 4, "activation": "softmax"}, {"units": 1, "activation": "sigmoid"}]}, "no hidden activation"),
    ({"layers": [{"units": 4, "activation": "relu"}, {"units": 1, "activation": "linear"}]}, "fixed sigmoid output"),
    ({"loss": "mse"}, "fixed sigmoid output"), ({"optimizer": "amsgrad"}, "no AMSGrad"), ({"l1": 0.01}, "no L1"),
    ({"adam_variant": "article", "adam_epsilon": 1e-8},
     r"^sklearn's Adam adds epsilon to the uncorrected sqrt\(v\) \(Keras's form\) and has no adam_variant=article; "
     r"use model.adam_variant=keras or drop sklearn from impls$")])
def test_unsupported_specs_fail_before_work(change: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        sklearn_model.build_model(spec_from_config({**TITANIC, **change}), "binary", 600, 0)


def test_adam_variant_does_not_matter_to_sgd() -> None:
    spec = spec_from_config({**TITANIC, "optimizer": "sgd", "adam_variant": "article"})
    assert sklearn_model.check_spec(spec, "binary") == "relu"


def toy(task: str, y_train: np.ndarray) -> Dataset:
    x = np.zeros((len(y_train), 2), dtype=np.float32)
    return Dataset("toy", "toy", x, y_train, x[:1], y_train[:1], task, ["a", "b"])


@pytest.mark.parametrize(("task", "y_train", "units", "message"), [
    ("multiclass", np.eye(4)[[0, 1, 1, 3]], 4, "the 4 training rows lack class 2 of the spec's 4"),
    ("multiclass", np.eye(4)[[1, 1]], 4, "the 2 training rows lack classes 0, 2, 3 of the spec's 4"),
    ("binary", np.zeros((3, 1)), 1, "the 3 training rows lack class 1 of the spec's 2"),
])
def test_training_rows_missing_a_class_are_refused_before_training(task, y_train, units, message) -> None:
    loss, act = ("categorical_crossentropy", "softmax") if task == "multiclass" else ("binary_crossentropy", "sigmoid")
    layers = [{"units": 4, "activation": "relu"}, {"units": units, "activation": act}]
    spec = spec_from_config({**TITANIC, "layers": layers, "loss": loss, "batch_size": 2})
    ds = toy(task, y_train.astype(np.float32))
    full = (f"^sklearn sizes its output from the classes in the training rows, and {message}; use a larger "
            r"data.limit_train \(or data.split=stratified where the data set has it\), or drop sklearn from impls$")
    with pytest.raises(ValueError, match=full):
        sklearn_model.check_data(spec, ds)
    with pytest.raises(ValueError, match=full):  # the harness asks the adapter before any run
        registry.get("sklearn").adapter.check_plan(spec, ds, "sklearn")
    with pytest.raises(ValueError, match=full):  # and each run on its own rows (data.seed=null: per seed)
        run_impl("sklearn", spec, ds)


def test_training_rows_with_every_class_pass() -> None:
    layers = [{"units": 4, "activation": "relu"}, {"units": 3, "activation": "softmax"}]
    spec = spec_from_config({**TITANIC, "layers": layers, "loss": "categorical_crossentropy", "batch_size": 2})
    sklearn_model.check_data(spec, toy("multiclass", np.eye(3, dtype=np.float32)[[2, 0, 1]]))
    sklearn_model.check_data(spec_from_config(TITANIC), toy("binary", np.array([[0.0], [1.0]], dtype=np.float32)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_trains_in_float32() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3)).astype(np.float32)
    model = sklearn_model.build_model(spec_from_config({**TITANIC, "batch_size": 10, "epochs": 2}), "binary", 50, 0)
    model.verbose = False
    model.fit(x, (x[:, 0] > 0).astype(int))
    assert model.coefs_[0].dtype == np.float32


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regression_losses_are_mse_not_half_mse() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2))
    y = (x @ [[2.0], [-1.0]] + 3.0)
    ds = Dataset("toy", "toy", x[:150], y[:150], x[150:], y[150:], "regression", ["a", "b"])
    # a learning rate this small leaves the weights nearly where they started, so the recorded epoch
    # loss must equal the MSE of the final predictions (sklearn itself reports half of it)
    record = run({"layers": [{"units": 5, "activation": "relu"}, {"units": 1, "activation": "linear"}], "loss": "mse",
                  "optimizer": "adam", "learning_rate": 1e-8, "batch_size": 150, "epochs": 2}, ds, dtype="float64")
    assert record["epoch_losses"][-1] > 2.0  # far from fitted: the check below is not trivially small
    assert "test_accuracy" not in record
    model = sklearn_model.build_model(spec_from_config({"layers": [{"units": 5, "activation": "relu"},
                                                                   {"units": 1, "activation": "linear"}],
                                                        "loss": "mse", "optimizer": "adam", "learning_rate": 1e-8,
                                                        "batch_size": 150, "epochs": 2}), "regression", 150, 0)
    model.verbose = False
    model.fit(ds.x_train, ds.y_train.reshape(-1))
    mse = float(np.mean((model.predict(ds.x_train) - ds.y_train.reshape(-1)) ** 2))
    assert record["epoch_losses"][-1] == pytest.approx(mse, rel=1e-4)


def test_multiclass_columns_follow_the_data(count_misclassified) -> None:
    count = count_misclassified()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((90, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)]
    ds = Dataset("toy", "toy", x[:60], y[:60], x[60:], y[60:], "multiclass", ["a", "b", "c", "d"])
    record = run({"layers": [{"units": 8, "activation": "relu"}, {"units": 3, "activation": "softmax"}],
                  "loss": "categorical_crossentropy", "optimizer": "adam", "learning_rate": 0.05,
                  "batch_size": 20, "epochs": 20}, ds)
    wrong = count(y[60:])
    assert record["test_misclassified"] == wrong and record["test_accuracy"] == pytest.approx(1 - wrong / 30)
    assert wrong < 12  # accuracy above 0.6


def test_check_available_says_how_to_install(monkeypatch) -> None:
    adapter = registry.get("sklearn").adapter
    adapter.check_available("sklearn")
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if scikit-learn were not installed
    with pytest.raises(ValueError, match=r"scikit-learn, which is not installed: pip install -e '\.\[peers\]'"):
        adapter.check_available("sklearn")
