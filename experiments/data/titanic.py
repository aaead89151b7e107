"""Titanic survival: the article's variant and a carefully preprocessed Kaggle variant.

``article``: ``titanic/train_article.csv`` (the article's ``train_no_names.csv``) prepared
exactly as the article did: keep Survived and the 7 features Pclass, Sex (male 0,
female 1), Age, SibSp, Parch, Fare, Embarked (S 0, C 0.2, Q 0.5), unscaled; drop every
row with a missing value (881 rows remain); split "article" = first 600 rows train, the
remaining 281 test (101 survivors). ``kaggle``: see titanic_kaggle.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import titanic_kaggle
from .dataset import Dataset, LoadOptions
from .titanic_csv import (SEX_CODES, SPLITS, CsvSource, build, check_finite, check_labels, encode, numeric,
                          read_csv, split_rows)

ARTICLE_FEATURES = ["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"]
ARTICLE_PORT_CODES = {"S": 0.0, "C": 0.2, "Q": 0.5}  # the article's codes, not one-hot
ARTICLE_CSV = CsvSource(
    relpath="titanic/train_article.csv",
    sha256_lf="9b522acd181c84b3f9eea1d3d10269d31f3b3a49cba560117e66e32eb67f28f4",
    urls=("https://raw.githubusercontent.com/VIad/mlp-article-repo/main/tests/train_no_names.csv",),
    columns=("Survived", *ARTICLE_FEATURES),
)


def load(variant: str, opts: LoadOptions) -> Dataset:
    """Load a Titanic variant (``article`` or ``kaggle``) with split ``article`` or ``stratified``."""
    loaders = {"article": load_article, "kaggle": titanic_kaggle.load_kaggle}
    if variant not in loaders:
        raise ValueError(f"unknown titanic variant {variant!r}: use one of {', '.join(loaders)}")
    if opts.split not in SPLITS:
        raise ValueError(f"unknown titanic split {opts.split!r}: use one of {', '.join(SPLITS)}")
    return loaders[variant](opts)


def load_article(opts: LoadOptions) -> Dataset:
    """The article's preprocessing, unchanged (including its unscaled features)."""
    frame, path, downloaded = read_csv(ARTICLE_CSV, opts)
    table = pd.DataFrame({
        "Survived": numeric(frame, "Survived", path),
        "Pclass": numeric(frame, "Pclass", path),
        "Sex": encode(frame, "Sex", SEX_CODES, path),
        "Age": numeric(frame, "Age", path),
        "SibSp": numeric(frame, "SibSp", path),
        "Parch": numeric(frame, "Parch", path),
        "Fare": numeric(frame, "Fare", path),
        "Embarked": encode(frame, "Embarked", ARTICLE_PORT_CODES, path),
    }).dropna()
    y = table["Survived"].to_numpy()
    check_labels(y, path)
    x = table[ARTICLE_FEATURES].to_numpy(dtype=np.float64)
    check_finite(x, ARTICLE_FEATURES, path)
    rows = split_rows(y, opts.split, opts.seed, path)
    meta = {"file": str(path), "sha256_lf": ARTICLE_CSV.sha256_lf, "verified": opts.verify,
            "downloaded": [str(path)] if downloaded else [], "rows_used": len(table),
            "rows_dropped": len(frame) - len(table), "scaling": "none (as in the article)"}
    return build("article", x, y, rows, ARTICLE_FEATURES, opts, meta)
