"""One ModelSpec builds both implementations alike; the record helpers compute what they claim."""

from __future__ import annotations

import math

import numpy as np
import pytest

from experiments.models import get, names, spec_from_config
from harness.measure import classification_fields, first_divergence
from harness.peak_memory import PeakMemory
from experiments.models.spec import check_against_data, matmul_flops, samples_per_epoch

TITANIC = {"layers": [{"units": 15, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
           "loss": "binary_crossentropy", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 100,
           "epochs": 3, "initializer": "xavier"}


@pytest.mark.parametrize("key,value", [("learning_rate", float("nan")), ("learning_rate", "fast"),
                                       ("l2", float("nan")), ("units", 1.7)])
def test_spec_checks_values_before_converting_them(key: str, value: object) -> None:
    model = {"layers": [{"units": 1, "activation": "sigmoid"}], "loss": "binary_crossentropy",
             "optimizer": "adam", "learning_rate": 0.01, "batch_size": 10, "epochs": 1}
    if key == "units":
        model["layers"][0]["units"] = value
    else:
        model[key] = value
    with pytest.raises(ValueError, match=key):
        spec_from_config(model)


def test_a_probability_of_exactly_one_half_predicts_the_negative_class() -> None:
    fields = classification_fields(np.array([[0.5], [0.5000001]]), np.array([[0.0], [1.0]]), "binary")
    assert fields["test_misclassified"] == 0 and fields["predicted_positives"] == 1


def test_registry_lookup_lists_valid_names() -> None:
    assert names() == ["mlp", "mlp_fused", "keras", "keras_tuned", "torch", "torch_compiled", "sklearn", "linreg"]
    with pytest.raises(ValueError, match="valid: mlp, mlp_fused, keras, keras_tuned, torch, torch_compiled, sklearn, linreg"):
        get("jax")


@pytest.mark.parametrize("key,value,words", [("loss", "hinge", "valid: mse"), ("optimizer", "rmsprop", "sgd"),
                                             ("learning_rate", 0.0, "positive"), ("epochs", -1, "positive")])
def test_spec_rejects_bad_values(key: str, value: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        spec_from_config({**TITANIC, key: value})


@pytest.mark.parametrize("key,value,message", [
    ("momentum", 1.0, "model.momentum=1.0 is out of range (SGD momentum must be in [0, 1), got 1.0); "
                      "set model.momentum to a value in [0, 1), e.g. 0.9"),
    ("adam_epsilon", 0.0, "model.adam_epsilon=0.0 is out of range (Adam epsilon must be a finite number > 0, got 0.0); "
                          "set model.adam_epsilon to a small positive number, e.g. 1e-7"),
    ("adam_epsilon", float("inf"), "model.adam_epsilon=inf is out of range"),
    ("adam_epsilon", -1e-8, "model.adam_epsilon=-1e-08 is out of range")])
def test_spec_checks_optimizer_settings_by_mlp_impl_rules(key: str, value: float, message: str) -> None:
    with pytest.raises(ValueError) as error:
        spec_from_config({**TITANIC, key: value})
    assert str(error.value).startswith(message)


def test_output_pairing_is_checked_by_mlp_impl_rule() -> None:
    from experiments.models.spec import check_output_pairing
    check_output_pairing(spec_from_config(TITANIC))
    relu_out = spec_from_config({**TITANIC, "layers": [{"units": 15, "activation": "relu"},
                                                       {"units": 1, "activation": "relu"}]})
    with pytest.raises(ValueError) as error:
        check_output_pairing(relu_out)
    assert str(error.value) == ("impls=[mlp] cannot train model.loss=binary_crossentropy after "
                                "model.layers[1].activation=relu: loss 'binary_crossentropy' needs a 'sigmoid' "
                                "output layer, got 'relu': use activation='sigmoid' on the last layer or loss='mse'")


def test_spec_against_data() -> None:
    spec = spec_from_config(TITANIC)
    check_against_data(spec, 7, 1, 600, "binary")
    with pytest.raises(ValueError, match="set model.batch_size <= 50"):
        check_against_data(spec, 7, 1, 50, "binary")
    with pytest.raises(ValueError, match="3 output"):
        check_against_data(spec, 7, 3, 600, "multiclass")


def test_flops_and_labels() -> None:
    spec = spec_from_config(TITANIC)
    assert spec.layers_label(7) == "7-15-1" and spec.activations_label() == "relu,sigmoid"
    per_sample = 4 * 7 * 15 + 6 * 15 * 1  # first layer has no input gradient
    assert matmul_flops(spec, 7, 600) == per_sample * 600 * 3
    assert samples_per_epoch(600, 150, "article") == 600 and samples_per_epoch(601, 150, "article") == 750


def test_classification_fields_and_article_error() -> None:
    proba = np.array([[0.9], [0.2], [0.7], [0.1]])
    fields = classification_fields(proba, np.array([[1], [1], [0], [0]]), "binary")
    assert fields == {"test_misclassified": 2, "test_accuracy": 0.5, "predicted_positives": 2,
                      "actual_positives": 2, "article_error": 0}


def test_first_divergence_is_one_based() -> None:
    assert first_divergence([0.5, 0.4]) is None
    assert first_divergence([0.5, float("inf"), float("nan")]) == 2


def test_peak_memory_sees_a_large_allocation() -> None:
    with PeakMemory() as mem:
        block = np.ones(50 * 2**20 // 8)
        del block
    assert mem.mb is not None and mem.mb > 40


def test_mlp_record_and_keras_model_come_from_one_spec(data_root, count_misclassified) -> None:
    from experiments.data import load_dataset
    from conftest import run_impl
    from experiments.models import keras_model
    ds = load_dataset("titanic", variant="article", root=data_root)
    spec = spec_from_config(TITANIC)
    count = count_misclassified()
    record = run_impl("mlp", spec, ds)
    assert len(record["epoch_losses"]) == 3 and record["first_epoch_seconds"] <= record["fit_seconds"]
    wrong = count(ds.y_test)
    assert record["test_misclassified"] == wrong and record["test_accuracy"] == pytest.approx(1 - wrong / 281)
    keras, _ = keras_model._import_keras()
    keras.utils.set_random_seed(0)
    model = keras_model.build_model(keras, spec_from_config({**TITANIC, "layers": [
        {"units": 512, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}]}), 784, "float32")
    kernels = [layer.kernel.numpy() for layer in model.layers]
    assert [k.shape for k in kernels] == [(784, 512), (512, 1)]
    assert [layer.activation.__name__ for layer in model.layers] == ["relu", "sigmoid"]
    assert math.isclose(kernels[0].std(), math.sqrt(2 / (784 + 512)), rel_tol=0.02)  # the article's Xavier
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01) and model.loss == "binary_crossentropy"


def test_mlp_fused_runs_the_mlp_with_fused_kernels(data_root) -> None:
    """The variant is the same adapter with kernels="fused", recorded as such."""
    from conftest import require_numba, run_impl
    require_numba()
    from harness.validate import load_cached
    ds = load_cached({"name": "titanic", "variant": "article", "limit_train": 200}, 0)
    spec = spec_from_config({"layers": [{"units": 4, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
                             "loss": "binary_crossentropy", "optimizer": "adam", "learning_rate": 0.01,
                             "batch_size": 50, "epochs": 2})
    record = run_impl("mlp_fused", spec, ds)
    assert record["kernels"] == "fused" and record["compile_seconds"] is not None


def test_keras_model_computes_in_the_dtype_asked_whatever_was_built_before() -> None:
    """Keras's global dtype policy keeps the floatx of its first use: a float64 model built after a
    float32 one (no clear_session between, as in a test) computed in float32 until build_model set it."""
    from experiments.models import keras_model
    keras, _ = keras_model._import_keras()
    layers = [{"units": 3, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}]
    spec = spec_from_config({**TITANIC, "layers": layers})
    for dtype in ("float32", "float64", "float32"):
        model = keras_model.build_model(keras, spec, 4, dtype)
        assert np.asarray(model(np.zeros((1, 4), dtype=dtype))).dtype == np.dtype(dtype)
