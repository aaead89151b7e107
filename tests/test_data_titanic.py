"""Titanic loaders: the article's exact numbers, leak-free Kaggle preprocessing, bad CSVs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.data import DataError, load_dataset
from experiments.data.titanic_kaggle import SCALED


def _copy_root(tmp_path: Path, data_root: Path, name: str, edit=None) -> Path:
    """A data root in tmp_path holding a (possibly edited) copy of one Titanic CSV."""
    folder = tmp_path / "data" / "titanic"
    folder.mkdir(parents=True)
    text = (data_root / "titanic" / name).read_text()
    (folder / name).write_text(edit(text) if edit else text)
    return tmp_path / "data"


pytestmark = pytest.mark.usefixtures("no_downloads")


def test_article_variant_has_the_articles_rows_and_survivors(data_root):
    ds = load_dataset("titanic", variant="article", root=data_root)
    assert (ds.x_train.shape, ds.x_test.shape) == ((600, 7), (281, 7))
    assert (ds.y_train.shape, ds.y_test.shape) == ((600, 1), (281, 1))
    assert int(ds.y_test.sum()) == 101 and ds.meta["test_positives"] == 101
    assert ds.meta["rows_used"] == 881
    assert ds.feature_names == ["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"]
    assert (ds.task, ds.n_features, ds.n_outputs) == ("binary", 7, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.float32


def test_article_variant_feature_values_of_known_passengers(data_root):
    ds = load_dataset("titanic", variant="article", root=data_root, dtype="float64")
    # passengers 1 and 2 (first training rows), 605 (last training row), 606 and 891 (test)
    np.testing.assert_array_equal(ds.x_train[0], [3, 0, 22, 1, 0, 7.25, 0])
    np.testing.assert_array_equal(ds.x_train[1], [1, 1, 38, 1, 0, 71.2833, 0.2])
    np.testing.assert_array_equal(ds.x_train[-1], [1, 0, 35, 0, 0, 26.55, 0.2])
    np.testing.assert_array_equal(ds.x_test[0], [3, 0, 36, 1, 0, 15.55, 0])
    np.testing.assert_array_equal(ds.x_test[-1], [3, 0, 32, 0, 0, 7.75, 0.5])
    assert ds.y_train[:2, 0].tolist() == [0, 1] and ds.y_train[-1, 0] == 1 and ds.y_test[0, 0] == 0


def test_kaggle_variant_has_no_nan_and_the_article_split_sizes(data_root):
    ds = load_dataset("titanic", variant="kaggle", root=data_root)
    assert ds.x_train.shape == (600, 9) and ds.x_test.shape == (291, 9)
    assert np.isfinite(ds.x_train).all() and np.isfinite(ds.x_test).all()
    assert int(ds.y_test.sum()) == 106 and ds.meta["ages_imputed"] == 177
    one_hot = ds.x_train[:, 6:]
    assert set(np.unique(one_hot)) <= {0.0, 1.0} and (one_hot.sum(axis=1) == 1).all()


def test_kaggle_statistics_come_from_training_rows_only(data_root):
    ds = load_dataset("titanic", variant="kaggle", root=data_root, dtype="float64")
    scaled = [ds.feature_names.index(c) for c in SCALED]
    np.testing.assert_allclose(ds.x_train[:, scaled].mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(ds.x_train[:, scaled].std(axis=0), 1, atol=1e-9)
    raw = pd.read_csv(data_root / "titanic" / "train.csv").iloc[:600]
    assert ds.meta["statistics"]["mean"]["Pclass"] == pytest.approx(raw["Pclass"].mean())
    assert ds.meta["statistics"]["fare_median"] == pytest.approx(raw["Fare"].median())
    assert ds.meta["statistics"]["age_median"] == pytest.approx(raw["Age"].median())


def test_kaggle_training_features_ignore_test_rows(tmp_path, data_root):
    """Rewriting every test passenger's age and fare must not move any training value."""
    def edit(text: str) -> str:
        frame = pd.read_csv(pd.io.common.StringIO(text))
        frame.loc[600:, "Age"] = 80.0
        frame.loc[600:, "Fare"] = 500.0
        return frame.to_csv(index=False)

    root = _copy_root(tmp_path, data_root, "train.csv", edit)
    original = load_dataset("titanic", variant="kaggle", root=data_root, dtype="float64")
    edited = load_dataset("titanic", variant="kaggle", root=root, dtype="float64", verify=False)
    np.testing.assert_allclose(edited.x_train, original.x_train, atol=1e-12)
    assert not np.allclose(edited.x_test, original.x_test)


def test_stratified_split_is_seeded_disjoint_and_keeps_the_survivor_share(data_root):
    a = load_dataset("titanic", variant="kaggle", root=data_root, split="stratified", seed=1)
    b = load_dataset("titanic", variant="kaggle", root=data_root, split="stratified", seed=1)
    c = load_dataset("titanic", variant="kaggle", root=data_root, split="stratified", seed=2)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)
    assert a.x_train.shape == (600, 9) and a.x_test.shape == (291, 9)
    assert int(a.y_test.sum()) == round(291 * 342 / 891) == int(c.y_test.sum())
    article = load_dataset("titanic", variant="article", root=data_root, split="stratified", seed=5)
    survivors = article.meta["train_positives"] + article.meta["test_positives"]
    assert article.x_test.shape == (281, 7) and int(article.y_test.sum()) == round(281 * survivors / 881)


def test_limits_keep_the_first_rows(data_root):
    ds = load_dataset("titanic", root=data_root, limit_train=50, limit_test=20)
    full = load_dataset("titanic", root=data_root)
    assert ds.x_train.shape == (50, 7) and ds.x_test.shape == (20, 7)
    np.testing.assert_array_equal(ds.x_test, full.x_test[:20])


def test_csv_without_expected_columns_is_rejected(tmp_path, data_root):
    root = _copy_root(tmp_path, data_root, "train_article.csv", lambda t: t.replace("Fare", "Price", 1))
    with pytest.raises(DataError, match=r"lacks the expected columns Fare.*train_article\.csv") as err:
        load_dataset("titanic", root=root)
    assert "\n" not in str(err.value)


def test_modified_csv_fails_its_checksum(tmp_path, data_root):
    root = _copy_root(tmp_path, data_root, "train_article.csv", lambda t: t.replace(",22,", ",23,", 1))
    with pytest.raises(DataError, match=r"checksum mismatch.*data.verify=false to use a modified copy.*"
                                        r"train_article\.csv.*replace it"):
        load_dataset("titanic", root=root)
    assert load_dataset("titanic", root=root, verify=False).x_train[0, 2] == 23


def test_a_download_that_fails_its_checksum_does_not_offer_verify_false(data_root):
    """Downloads are always verified, so turning verification off is no way out for them."""
    from experiments.data import titanic, titanic_csv

    damaged = (data_root / "titanic" / "train_article.csv").read_bytes().replace(b",22,", b",23,", 1)
    with pytest.raises(DataError, match="checksum mismatch") as err:
        titanic_csv._check(damaged, titanic.ARTICLE_CSV, "https://example.org/train.csv")
    assert "verify" not in str(err.value)


def test_crlf_copy_still_verifies(tmp_path, data_root):
    root = _copy_root(tmp_path, data_root, "train_article.csv")
    path = root / "titanic" / "train_article.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert load_dataset("titanic", root=root).x_test.shape == (281, 7)


def test_nan_left_after_preprocessing_is_rejected(tmp_path, data_root):
    # empty Pclass for passenger 1: nothing imputes a class, so it must not reach a model
    root = _copy_root(tmp_path, data_root, "train.csv", lambda t: t.replace("1,0,3,", "1,0,,", 1))
    with pytest.raises(DataError, match=r"NaN left in features after preprocessing \(columns Pclass\)"):
        load_dataset("titanic", variant="kaggle", root=root, verify=False)


@pytest.mark.parametrize(("old", "new", "message"), [
    (",male,22,", ",man,22,", r"column Sex holds 'man' in data row 1"),
    (",male,22,", ",male,twenty,", r"column Age holds 'twenty' in data row 1, not a number"),
])
def test_bad_values_are_named(tmp_path, data_root, old, new, message):
    root = _copy_root(tmp_path, data_root, "train_article.csv", lambda t: t.replace(old, new, 1))
    with pytest.raises(DataError, match=message):
        load_dataset("titanic", root=root, verify=False)


def test_bad_split_and_variant_names_list_the_valid_ones(data_root):
    with pytest.raises(ValueError, match="use one of article, stratified"):
        load_dataset("titanic", root=data_root, split="random")
    with pytest.raises(ValueError, match="use one of article, kaggle"):
        load_dataset("titanic", variant="original", root=data_root)


@pytest.mark.parametrize(("config", "variant", "pattern"), [
    ("titanic_article.yaml", "article", r"first (\d+) rows train, (\d+) test"),
    ("titanic_kaggle.yaml", "kaggle", r"split: article \((\d+)/(\d+)\)"),
])
def test_dataset_config_comments_state_the_real_split(data_root, config, variant, pattern):
    comment = (Path(__file__).resolve().parents[1] / "conf" / "dataset" / config).read_text()
    n_train, n_test = map(int, re.search(pattern, comment).groups())
    ds = load_dataset("titanic", variant=variant, root=data_root)
    assert (n_train, n_test) == (len(ds.x_train), len(ds.x_test))
