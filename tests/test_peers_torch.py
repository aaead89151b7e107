"""The PyTorch peer: its loss falls, it repeats with a seed, its Adam and losses are Keras's, it fails clearly."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from experiments.data import Dataset
from conftest import run_impl
from experiments.models import registry, torch_model
from experiments.models.spec import spec_from_config

torch = pytest.importorskip("torch")

TITANIC = {"layers": [{"units": 15, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
           "loss": "binary_crossentropy", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 100,
           "epochs": 8, "initializer": "xavier"}


@pytest.fixture(scope="module")
def titanic(data_root):
    from experiments.data import load_dataset
    return load_dataset("titanic", variant="article", root=data_root)


def run(spec_cfg: dict, ds, seed: int = 0, sampling: str = "shuffle", dtype: str = "float32") -> dict:
    return run_impl("torch", spec_from_config(spec_cfg), ds, seed=seed, dtype=dtype, sampling=sampling)


def test_loss_falls_and_seed_repeats(titanic) -> None:
    first, again, other = run(TITANIC, titanic), run(TITANIC, titanic), run(TITANIC, titanic, seed=1)
    assert first["epoch_losses"][-1] < 0.8 * first["epoch_losses"][0]
    assert first["epoch_losses"] == again["epoch_losses"] and first["test_loss"] == again["test_loss"]
    assert first["epoch_losses"] != other["epoch_losses"]


@pytest.mark.parametrize("sampling", ["sequential", "article"])
def test_other_samplings_and_float64_train(titanic, sampling: str) -> None:
    record = run(TITANIC, titanic, sampling=sampling, dtype="float64")
    assert len(record["epoch_losses"]) == 8 and record["epoch_losses"][-1] < record["epoch_losses"][0]


def test_epoch_batches_follow_the_sampling_scheme() -> None:
    gen = torch.Generator().manual_seed(0)
    shuffle = torch_model.epoch_batches(torch, 10, 4, "shuffle", gen)()
    assert [len(b) for b in shuffle] == [4, 4, 2] and sorted(torch.cat(shuffle).tolist()) == list(range(10))
    article = torch_model.epoch_batches(torch, 10, 4, "article", gen)()
    assert [len(set(b.tolist())) for b in article] == [4, 4, 4]  # ceil(10/4) draws, none repeating a row
    sequential = torch_model.epoch_batches(torch, 10, 4, "sequential", gen)()
    assert torch.cat(sequential).tolist() == list(range(10))
    with pytest.raises(ValueError, match="valid: shuffle, article, sequential"):
        torch_model.epoch_batches(torch, 10, 4, "bootstrap", gen)


def linear_fit(optimizer: str, epochs: int, eps: float = 0.1, momentum: float = 0.0,
               variant: str = "keras") -> tuple[np.ndarray, float]:
    """A 2-input linear unit with MSE, zero start, full batch: one optimizer step per epoch."""
    spec = spec_from_config({"layers": [{"units": 1, "activation": "linear"}], "loss": "mse", "optimizer": optimizer,
                             "learning_rate": 0.1, "batch_size": 2, "epochs": epochs, "initializer": "zeros",
                             "adam_epsilon": eps, "momentum": momentum, "adam_variant": variant})
    body, output = torch_model.build_network(torch, spec, 2)
    body.double()
    loss_fn, _ = torch_model.make_loss(torch, spec, output, Y)
    opt = torch_model.build_optimizer(torch, spec, body.parameters())
    batches = torch_model.epoch_batches(torch, 2, 2, "sequential", torch.Generator())
    torch_model.fit(body, loss_fn, opt, torch.from_numpy(X), torch.from_numpy(Y), batches, epochs)
    return body[0].weight.detach().numpy().reshape(-1), float(body[0].bias.detach())


X = np.array([[1.0, 2.0], [3.0, 4.0]])
Y = np.array([[1.0], [2.0]])


@pytest.mark.parametrize("variant", ["keras", "article"])
def test_first_adam_step_follows_the_adam_variant(variant: str) -> None:
    # gradient at w = b = 0: dMSE/dw = -2 mean(y x) = (-7, -10), dMSE/db = -2 mean(y) = -3; at step 1
    # m_hat = g and sqrt(v_hat) = |g|, so with eps on sqrt(v_hat) (article): delta = lr * g / (|g| + eps);
    # with eps on the uncorrected sqrt(v) = sqrt(1 - b2) |g| (Keras): delta = lr * g / (|g| + eps / sqrt(1 - b2))
    w, b = linear_fit("adam", 1, variant=variant)
    eps = 0.1 if variant == "article" else 0.1 / np.sqrt(1 - 0.999)
    assert w == pytest.approx([0.1 * 7 / (7 + eps), 0.1 * 10 / (10 + eps)], rel=1e-12)
    assert b == pytest.approx(0.1 * 3 / (3 + eps), rel=1e-12)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("variant", ["keras", "article"])
def test_adam_matches_a_hand_written_update_over_steps(amsgrad: bool, variant: str) -> None:
    w, b = np.zeros(2), 0.0
    m, v, v_max = np.zeros(3), np.zeros(3), np.zeros(3)
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 0.1
    for t in range(1, 6):
        err = X @ w + b - Y[:, 0]
        g = np.append(2 * X.T @ err / 2, 2 * err.mean())
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        v_used = v_max if amsgrad else v
        if variant == "article":  # eps on the bias-corrected sqrt(v_hat)
            step = lr * (m / (1 - b1 ** t)) / (np.sqrt(v_used / (1 - b2 ** t)) + eps)
        else:  # Keras: eps on the uncorrected sqrt(v), bias correction folded into the step size
            step = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v_used) + eps)
        w, b = w - step[:2], b - step[2]
    got_w, got_b = linear_fit("amsgrad" if amsgrad else "adam", 5, variant=variant)
    np.testing.assert_allclose(got_w, w, rtol=1e-12)
    assert got_b == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize(("optimizer", "variant"), [("adam", "keras"), ("adam", "article"), ("amsgrad", "keras")])
def test_adam_updates_equal_mlp_impl_given_the_same_gradients(optimizer: str, variant: str) -> None:
    from mlp_impl import optimizers
    from mlp_impl.backend import get_backend

    spec = spec_from_config({"layers": [{"units": 1, "activation": "sigmoid"}], "loss": "binary_crossentropy",
                             "optimizer": optimizer, "learning_rate": 0.01, "batch_size": 1, "epochs": 1,
                             "adam_variant": variant, "adam_epsilon": 1e-7})
    scales = np.array([1e-9, 1e-7, 1e-5, 1e-3, 1.0])  # tiny gradients are where eps's placement shows
    p = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    opt = torch_model.build_optimizer(torch, spec, [p])
    reference = (optimizers.AMSGrad if optimizer == "amsgrad" else optimizers.Adam)(epsilon=1e-7, variant=variant)
    params, grads = np.zeros(5), np.zeros(5)
    reference.build(get_backend("numpy"), params, grads)
    rng = np.random.default_rng(0)
    for _ in range(300):
        g = scales * rng.standard_normal(5)
        p.grad = torch.from_numpy(g.copy())
        opt.step()
        grads[:] = g
        reference.step(0.01)
    assert np.abs(params).min() > 1e-5  # every parameter moved: the check below is not trivial
    np.testing.assert_allclose(p.detach().numpy(), params, rtol=1e-10)


def test_sgd_momentum_matches_a_hand_written_update() -> None:
    w, b, vel = np.zeros(2), 0.0, np.zeros(3)
    for _ in range(3):
        err = X @ w + b - Y[:, 0]
        g = np.append(X.T @ err, 2 * err.mean())
        vel = 0.9 * vel + g  # torch's form; equal to Keras's v = 0.9 v - lr g for a constant lr
        w, b = w - 0.1 * vel[:2], b - 0.1 * vel[2]
    got_w, got_b = linear_fit("sgd", 3, momentum=0.9)
    np.testing.assert_allclose(got_w, w, rtol=1e-12)
    assert got_b == pytest.approx(b, rel=1e-12)


def test_penalty_is_on_kernels_only() -> None:
    spec = spec_from_config({**TITANIC, "l1": 0.01, "l2": 0.1})
    body, _ = torch_model.build_network(torch, spec, 7)
    kernels = [body[0].weight.detach(), body[2].weight.detach()]
    expected = sum(0.1 * float((k ** 2).sum()) + 0.01 * float(k.abs().sum()) for k in kernels)
    with torch.no_grad():
        assert float(torch_model.make_penalty(spec, body)()) == pytest.approx(expected, rel=1e-6)
    assert torch_model.make_penalty(spec_from_config(TITANIC), body) is None


def test_initializers_match_their_definitions() -> None:
    torch.manual_seed(0)
    spec = spec_from_config({**TITANIC, "layers": [{"units": 400, "activation": "relu"},
                                                   {"units": 1, "activation": "sigmoid"}]})
    body, _ = torch_model.build_network(torch, spec, 600)
    assert float(body[0].weight.detach().std()) == pytest.approx(np.sqrt(2 / 1000), rel=0.02)  # xavier normal
    assert float(body[0].bias.detach().abs().max()) == 0.0


def test_multiclass_softmax_on_synthetic_data(count_misclassified) -> None:
    count = count_misclassified()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)]
    ds = Dataset("toy", "toy", x[:40], y[:40], x[40:], y[40:], "multiclass", ["a", "b", "c", "d"])
    record = run({"layers": [{"units": 8, "activation": "tanh"}, {"units": 3, "activation": "softmax"}],
                  "loss": "categorical_crossentropy", "optimizer": "adam", "learning_rate": 0.05,
                  "batch_size": 16, "epochs": 10}, ds)
    assert record["epoch_losses"][-1] < record["epoch_losses"][0]
    wrong = count(y[40:])
    assert record["test_misclassified"] == wrong and record["test_accuracy"] == pytest.approx(1 - wrong / 20)
    assert "predicted_positives" not in record


def test_check_available_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    with pytest.raises(ValueError, match=r"PyTorch, which is not installed: pip install -e '\.\[peers\]'"):
        registry.get("torch").adapter.check_available("torch-cpu")
    with pytest.raises(ValueError, match="cannot be imported"):
        torch_model._import_torch()


def test_check_available_refuses_the_gpu_without_cuda(monkeypatch) -> None:
    adapter = registry.get("torch").adapter
    adapter.check_available("torch-cuda" if torch.cuda.is_available() else "torch-cpu")  # negative control
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"needs CUDA, but torch.cuda.is_available\(\) is False"):
        adapter.check_available("torch-cuda")


def loss_value(loss: str, activation: str, z: list[list[float]], y: list[list[float]]) -> float:
    """The torch peer's loss for output logits `z` (before the output activation) and targets `y`."""
    spec = spec_from_config({"layers": [{"units": len(z[0]), "activation": activation}], "loss": loss,
                             "optimizer": "sgd", "learning_rate": 0.1, "batch_size": 1, "epochs": 1})
    _, output = torch_model.build_network(torch, spec, 2)
    y_train = np.array(y)
    loss_fn, to_target = torch_model.make_loss(torch, spec, output, y_train)
    return float(loss_fn(torch.tensor(z, dtype=torch.float64), torch.from_numpy(to_target(y_train))))


@pytest.mark.parametrize(("loss", "activation", "z", "y", "expected"), [
    # not a softmax: Keras divides each row by its sum, then clips: -log(3 / 4)
    ("categorical_crossentropy", "relu", [[1.0, 3.0, 0.0]], [[0.0, 1.0, 0.0]], -np.log(0.75)),
    # after a sigmoid Keras reads the logits behind it: softmax cross-entropy, log(1 + e + e^2)
    ("categorical_crossentropy", "sigmoid", [[0.0, 1.0, 2.0]], [[1.0, 0.0, 0.0]], np.log(1 + np.e + np.e**2)),
    # after a softmax binary cross-entropy reads the logits too: log(1 + e^-0.5)
    ("binary_crossentropy", "softmax", [[0.5]], [[1.0]], np.log1p(np.exp(-0.5))),
    ("binary_crossentropy", "tanh", [[0.5]], [[1.0]], -np.log(np.tanh(0.5))),  # clipped probability
])
def test_cross_entropy_after_any_output_is_keras_s(loss: str, activation: str, z, y, expected: float) -> None:
    assert loss_value(loss, activation, z, y) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("loss", "activation", "k"), [
    ("categorical_crossentropy", "sigmoid", 3), ("categorical_crossentropy", "relu", 3),
    ("categorical_crossentropy", "tanh", 3), ("binary_crossentropy", "softmax", 1),
    ("binary_crossentropy", "relu", 1)])
@pytest.mark.filterwarnings("ignore:You are using a softmax over axis")  # one unit: on purpose
def test_loss_and_gradients_equal_keras_s(loss: str, activation: str, k: int) -> None:
    pytest.importorskip("tensorflow")
    from experiments.models import keras_model
    keras, tf = keras_model._import_keras()
    spec = spec_from_config({"layers": [{"units": 6, "activation": "relu"}, {"units": k, "activation": activation}],
                             "loss": loss, "optimizer": "sgd", "learning_rate": 0.1, "batch_size": 8, "epochs": 1})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 4))
    y = np.eye(3)[rng.integers(0, 3, 8)] if k == 3 else rng.integers(0, 2, (8, 1)).astype(float)
    torch.manual_seed(0)
    body, output = torch_model.build_network(torch, spec, 4)
    body.double()
    with torch.no_grad():
        for m in body[::2]:
            m.bias.uniform_(1.0, 2.0)  # relu outputs above zero (a row of zeros has no defined CCE)
    loss_fn, to_target = torch_model.make_loss(torch, spec, output, y)
    value = loss_fn(body(torch.from_numpy(x)), torch.from_numpy(to_target(y)))
    value.backward()
    linears = [m for m in body if hasattr(m, "weight")]
    model = keras_model.build_model(keras, spec, 4, "float64")
    model.set_weights([a for m in linears for a in (m.weight.detach().numpy().T, m.bias.detach().numpy())])
    with tf.GradientTape() as tape:
        keras_loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
    keras_grads = tape.gradient(keras_loss, model.trainable_variables)
    assert float(value.detach()) == pytest.approx(float(keras_loss), rel=1e-10)
    torch_grads = [g for m in linears for g in (m.weight.grad.numpy().T, m.bias.grad.numpy())]
    for ours, theirs in zip(torch_grads, keras_grads):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-8, atol=1e-12)
