"""Data sets of the benchmark: Titanic (article, kaggle), MNIST-format IDX, Drujba housing.

    from experiments.data import load_dataset
    ds = load_dataset("titanic", variant="article")   # 600 train / 281 test rows

Files are read from ``root``, else $MLP_BENCH_DATA_DIR, else ~/.cache/mlp-bench/data
(where missing files are downloaded and checksum-verified); see each module's docstring.
"""

from .dataset import Dataset
from .errors import DataError
from .paths import cache_dir, resolve_data_root
from .registry import DATASETS, get, load_dataset

__all__ = ["DATASETS", "DataError", "Dataset", "cache_dir", "get", "load_dataset", "resolve_data_root"]
