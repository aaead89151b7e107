"""load_dataset's contract: names, options, the Dataset container, and Drujba's synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.data import DATASETS, Dataset, DataError, get, load_dataset
from experiments.data.drujba import INTERCEPT, NOISE_HIGH, SIZE_RANGE, SLOPE


def test_get_lists_the_valid_names():
    assert get("mnist") is DATASETS["mnist"]
    with pytest.raises(ValueError, match="unknown dataset 'cifar': use one of titanic, mnist, drujba"):
        get("cifar")
    with pytest.raises(ValueError, match="use one of titanic, mnist, drujba"):
        load_dataset("boston")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"dtype": "float16"}, "unknown dtype 'float16': use one of float32, float64"),
    ({"limit_train": 0}, "limit_train must be a positive integer"),
    ({"limit_test": 2.5}, "limit_test must be a positive integer"),
    ({"n": 0}, "n \\(number of drujba points\\) must be a positive integer"),
    ({"variant": "boston"}, "unknown drujba variant 'boston': use one of article"),
])
def test_bad_options_are_rejected_before_work(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset("drujba", **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    ({"seed": np.int64(-3)}, "seed must be an integer >= 0, got np.int64(-3)"),
    ({"seed": 1.0}, "seed must be an integer >= 0, got 1.0"),
    ({"seed": True}, "seed must be an integer >= 0, got True"),
    ({"limit_train": np.int64(0)}, "limit_train must be a positive integer or None, got np.int64(0)"),
])
def test_bad_seed_or_limit_is_rejected_before_any_file_is_read(tmp_path, kwargs, message):
    missing = tmp_path / "no-such-folder"  # reading anything would fail with a data-folder error instead
    with pytest.raises(ValueError) as err:
        load_dataset("titanic", split="stratified", root=missing, **kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("drujba", {"split": "bogus"}, "data.split applies to titanic only, not drujba: drop it"),
    ("mnist", {"split": "stratified"}, "data.split applies to titanic only, not mnist: drop it"),
    ("titanic", {"n": -5}, "data.n applies to drujba only, not titanic: drop it"),
    ("titanic", {"split": "bogus"}, "unknown titanic split 'bogus': use one of article, stratified"),
])
def test_an_option_of_another_data_set_is_refused_before_any_file_is_read(tmp_path, name, kwargs, message):
    with pytest.raises(ValueError) as err:
        load_dataset(name, root=tmp_path / "no-such-folder", **kwargs)
    assert str(err.value) == message


def test_numpy_integers_are_accepted_and_recorded_as_ints():
    ds = load_dataset("drujba", seed=np.int64(2), n=40, limit_train=np.int64(5), limit_test=np.uint8(3))
    assert ds.x_train.shape == (5, 1) and ds.x_test.shape == (3, 1)
    assert type(ds.meta["limit_train"]) is int and type(ds.meta["limit_test"]) is int
    np.testing.assert_array_equal(ds.y_train, load_dataset("drujba", seed=2, n=40, limit_train=5).y_train)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_mnist_variant_names_are_listed(data_root):
    with pytest.raises(ValueError, match="use one of mnist, fashion-mnist, idx"):
        load_dataset("mnist", variant="kmnist", root=data_root)


def test_drujba_follows_the_articles_formula_and_is_seeded():
    ds = load_dataset("drujba", variant="article", seed=0, n=100)
    assert ds.x_train.shape == (100, 1) and ds.y_train.shape == (100, 1) and ds.x_test.shape == (25, 1)
    assert (ds.task, ds.feature_names, ds.n_features, ds.n_outputs) == ("regression", ["size"], 1, 1)
    x, y = ds.x_train.astype(np.float64), ds.y_train.astype(np.float64)
    noise = y - SLOPE * x - INTERCEPT
    assert noise.min() >= -0.01 and noise.max() <= NOISE_HIGH + 0.01
    assert SIZE_RANGE[0] <= x.min() and x.max() <= SIZE_RANGE[1]
    np.testing.assert_array_equal(ds.y_train, load_dataset("drujba", seed=0, n=100).y_train)
    assert not np.array_equal(ds.y_train, load_dataset("drujba", seed=1, n=100).y_train)
    # through-origin least squares, what a short gradient descent from zero approaches:
    # the article's fit after 50 steps was w = 1933.30
    assert (x * y).sum() / (x * x).sum() == pytest.approx(1933.3, rel=0.01)


def test_drujba_limits_and_dtype():
    ds = load_dataset("drujba", n=40, limit_train=10, dtype="float64")
    assert ds.x_train.shape == (10, 1) and ds.x_test.shape == (10, 1) and ds.x_train.dtype == np.float64


def test_dataset_fills_in_widths_and_checks_shapes():
    x, y = np.zeros((4, 3)), np.zeros((4, 1))
    ds = Dataset("toy", "v", x, y, x, y, "binary", ["a", "b", "c"])
    assert (ds.n_features, ds.n_outputs, ds.meta) == (3, 1, {})
    with pytest.raises(ValueError, match=r"y \(n, outputs\)"):
        Dataset("toy", "v", x, np.zeros(4), x, y, "binary", ["a", "b", "c"])
    with pytest.raises(ValueError, match="unknown task"):
        Dataset("toy", "v", x, y, x, y, "ranking", ["a", "b", "c"])
