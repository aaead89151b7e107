"""The PyTorch peer: its loss falls, it repeats with a seed, its Adam is the article's, it fails clearly."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from experiments.data import Dataset
from experiments.models import torch_model
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
    return torch_model.train_and_evaluate(spec_from_config(spec_cfg), ds, seed=seed, dtype=dtype, sampling=sampling,
                                          backend="torch-cpu", progress=False)


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


def linear_fit(optimizer: str, epochs: int, eps: float = 0.1, momentum: float = 0.0) -> tuple[np.ndarray, float]:
    """A 2-input linear unit with MSE, zero start, full batch: one optimizer step per epoch."""
    spec = spec_from_config({"layers": [{"units": 1, "activation": "linear"}], "loss": "mse", "optimizer": optimizer,
                             "learning_rate": 0.1, "batch_size": 2, "epochs": epochs, "initializer": "zeros",
                             "adam_epsilon": eps, "momentum": momentum})
    body, output = torch_model.build_network(torch, spec, 2)
    body.double()
    loss_fn, _ = torch_model.make_loss(torch, spec, output, Y)
    opt = torch_model.build_optimizer(torch, spec, body.parameters())
    batches = torch_model.epoch_batches(torch, 2, 2, "sequential", torch.Generator())
    torch_model.fit(body, loss_fn, opt, torch.from_numpy(X), torch.from_numpy(Y), batches, epochs)
    return body[0].weight.detach().numpy().reshape(-1), float(body[0].bias.detach())


X = np.array([[1.0, 2.0], [3.0, 4.0]])
Y = np.array([[1.0], [2.0]])


def test_first_adam_step_is_the_articles_update() -> None:
    # gradient at w = b = 0: dMSE/dw = -2 mean(y x) = (-7, -10), dMSE/db = -2 mean(y) = -3; at step 1
    # m_hat = g and sqrt(v_hat) = |g|, so with eps on sqrt(v_hat): delta = lr * g / (|g| + eps)
    w, b = linear_fit("adam", 1)
    assert w == pytest.approx([0.1 * 7 / 7.1, 0.1 * 10 / 10.1], rel=1e-12)
    assert b == pytest.approx(0.1 * 3 / 3.1, rel=1e-12)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_a_hand_written_update_over_steps(amsgrad: bool) -> None:
    w, b = np.zeros(2), 0.0
    m, v, v_max = np.zeros(3), np.zeros(3), np.zeros(3)
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 0.1
    for t in range(1, 6):
        err = X @ w + b - Y[:, 0]
        g = np.append(2 * X.T @ err / 2, 2 * err.mean())
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        v_hat = (v_max if amsgrad else v) / (1 - b2 ** t)
        step = lr * (m / (1 - b1 ** t)) / (np.sqrt(v_hat) + eps)
        w, b = w - step[:2], b - step[2]
    got_w, got_b = linear_fit("amsgrad" if amsgrad else "adam", 5)
    np.testing.assert_allclose(got_w, w, rtol=1e-12)
    assert got_b == pytest.approx(b, rel=1e-12)


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


def test_multiclass_softmax_on_synthetic_data() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)]
    ds = Dataset("toy", "toy", x[:40], y[:40], x[40:], y[40:], "multiclass", ["a", "b", "c", "d"])
    record = run({"layers": [{"units": 8, "activation": "tanh"}, {"units": 3, "activation": "softmax"}],
                  "loss": "categorical_crossentropy", "optimizer": "adam", "learning_rate": 0.05,
                  "batch_size": 16, "epochs": 10}, ds)
    assert record["epoch_losses"][-1] < record["epoch_losses"][0]
    assert record["test_misclassified"] + round(record["test_accuracy"] * 20) == 20
    assert "predicted_positives" not in record


def test_check_available_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    with pytest.raises(ValueError, match=r"PyTorch, which is not installed: pip install -e '\.\[peers\]'"):
        torch_model.check_available("torch-cpu")
    with pytest.raises(ValueError, match="cannot be imported"):
        torch_model._import_torch()


def test_check_available_rejects_bad_backends(monkeypatch) -> None:
    with pytest.raises(ValueError, match="valid: torch-cpu, torch-cuda"):
        torch_model.check_available("numpy")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"needs CUDA, but torch.cuda.is_available\(\) is False"):
        torch_model.check_available("torch-cuda")
