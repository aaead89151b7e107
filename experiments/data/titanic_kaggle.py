"""Titanic, Kaggle's own train.csv, prepared the way a careful user would.

- Age: missing values filled with the median age of the passenger's title (Mr, Mrs,
  Miss, Master, Rare; from Name), medians computed on the training rows only; a title
  with no known age in them falls back to the training median.
- Embarked: the two missing ports filled with the training rows' most common port,
  then one-hot (Embarked_C, Embarked_Q, Embarked_S).
- Fare: log1p (it is heavily skewed), missing filled with the training median.
- Pclass, Age, SibSp, Parch, Fare standardized with the training rows' mean and
  standard deviation; Sex (male 0, female 1) and the one-hot columns stay 0/1.
No row is dropped: 891 passengers, split "article" = first 600 train / 291 test, or
"stratified" (seeded, same sizes, same survivor share).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Dataset, LoadOptions
from .errors import data_error
from .titanic_csv import (REPLACE, SEX_CODES, CsvSource, build, check_finite, check_labels, encode,
                          numeric, read_csv, split_rows)

SCALED = ["Pclass", "Age", "SibSp", "Parch", "Fare"]
PORTS = ["C", "Q", "S"]
FEATURES = ["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare"] + [f"Embarked_{p}" for p in PORTS]
TITLES = {"Mr": "Mr", "Mrs": "Mrs", "Miss": "Miss", "Master": "Master",
          "Mlle": "Miss", "Ms": "Miss", "Mme": "Mrs"}  # every other title is "Rare"
KAGGLE_CSV = CsvSource(
    relpath="titanic/train.csv",
    # the data README's digest is of the original CRLF bytes:
    # 7d118fef8b6ccf7f81111877bc388536f7b1e498a655e3d649d19aaa010e9f6f
    sha256_lf="4a437fde05fe5264e1701a7387ac6fb75393772ba38bb2c9c566405af5af4bd7",
    urls=("https://raw.githubusercontent.com/agconti/kaggle-titanic/master/data/train.csv",),
    columns=("Survived", "Pclass", "Name", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"),
)


def load_kaggle(opts: LoadOptions) -> Dataset:
    """Split first, then learn every statistic from the training rows alone (no leakage)."""
    frame, path, downloaded = read_csv(KAGGLE_CSV, opts)
    frame = frame.dropna(how="all").reset_index(drop=True)  # blank trailing lines only
    y = numeric(frame, "Survived", path).to_numpy()
    check_labels(y, path)
    raw = pd.DataFrame({
        "Pclass": numeric(frame, "Pclass", path), "Sex": encode(frame, "Sex", SEX_CODES, path),
        "Age": numeric(frame, "Age", path), "SibSp": numeric(frame, "SibSp", path),
        "Parch": numeric(frame, "Parch", path), "Fare": numeric(frame, "Fare", path),
        "Embarked": _ports(frame, path),
        "Title": frame["Name"].map(title_of),
    })
    rows = split_rows(y, opts.split, opts.seed, path)
    stats = fit_statistics(raw.iloc[rows[0]])
    x = transform(raw, stats)
    check_finite(x, FEATURES, path)
    meta = {"file": str(path), "sha256_lf": KAGGLE_CSV.sha256_lf, "verified": opts.verify,
            "downloaded": [str(path)] if downloaded else [], "rows_used": len(raw),
            "ages_imputed": int(raw["Age"].isna().sum()), "statistics": stats,
            "scaling": "standardized with training-row statistics"}
    return build("kaggle", x, y, rows, FEATURES, opts, meta)


def title_of(name: object) -> str:
    """Mr / Mrs / Miss / Master from 'Surname, Title. Given names', anything else Rare."""
    if not isinstance(name, str) or "," not in name or "." not in name:
        return "Rare"
    return TITLES.get(name.split(",", 1)[1].split(".", 1)[0].strip(), "Rare")


def fit_statistics(train: pd.DataFrame) -> dict:
    """Imputation values and scaling statistics, from the training rows only."""
    known_ages = train.dropna(subset=["Age"])
    age_median = float(known_ages["Age"].median()) if len(known_ages) else 0.0
    ports = train["Embarked"].dropna()
    port_mode = str(ports.mode().sort_values().iloc[0]) if len(ports) else "S"
    fare_median = float(train["Fare"].median()) if train["Fare"].notna().any() else 0.0
    stats = {"age_by_title": {k: float(v) for k, v in known_ages.groupby("Title")["Age"].median().items()},
             "age_median": age_median, "port_mode": port_mode, "fare_median": fare_median}
    filled = _impute(train, stats)
    std = filled[SCALED].std(ddof=0).replace(0.0, 1.0)
    stats["mean"] = {k: float(v) for k, v in filled[SCALED].mean().items()}
    stats["std"] = {k: float(v) for k, v in std.items()}
    return stats


def transform(raw: pd.DataFrame, stats: dict) -> np.ndarray:
    """Apply the training-row statistics to every row (train and test alike)."""
    table = _impute(raw, stats)
    for column in SCALED:
        table[column] = (table[column] - stats["mean"][column]) / stats["std"][column]
    for port in PORTS:
        table[f"Embarked_{port}"] = (table["Embarked"] == port).astype(float)
    return table[FEATURES].to_numpy(dtype=np.float64)


def _impute(raw: pd.DataFrame, stats: dict) -> pd.DataFrame:
    table = raw.copy()
    by_title = table["Title"].map(stats["age_by_title"]).fillna(stats["age_median"])
    table["Age"] = table["Age"].fillna(by_title)
    table["Embarked"] = table["Embarked"].fillna(stats["port_mode"])
    table["Fare"] = np.log1p(table["Fare"].fillna(stats["fare_median"]))
    return table


def _ports(frame: pd.DataFrame, path: Path) -> pd.Series:
    """Port letters kept as text for one-hot encoding; an unknown port is an error."""
    ports = frame["Embarked"]
    bad = ports.notna() & ~ports.isin(PORTS)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise data_error(f"column Embarked holds {ports.iloc[row]!r} in data row {row + 1}, "
                         f"expected one of {', '.join(PORTS)}", path, REPLACE)
    return ports
