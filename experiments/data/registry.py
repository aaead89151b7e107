"""Data sets by name: one ``get(name)`` lookup and the ``load_dataset`` entry point."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import drujba, mnist, titanic
from .dataset import Dataset, LoadOptions, check_options, with_plain_ints

Loader = Callable[[str, LoadOptions], Dataset]
DATASETS: dict[str, Loader] = {"titanic": titanic.load, "mnist": mnist.load, "drujba": drujba.load}
DEFAULT_VARIANTS = {"titanic": "article", "mnist": "mnist", "drujba": "article"}
# Options one data set alone reads: given to another, they would be ignored without a word.
OWN_OPTIONS = {"split": "titanic", "n": "drujba"}


def get(name: str) -> Loader:
    """The loader registered under ``name``; unknown names list the valid ones."""
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dataset {name!r}: use one of {', '.join(DATASETS)}") from None


def load_dataset(name: str, variant: str | None = None, root: Path | str | None = None, *,
                 split: str = "article", seed: int = 0, dtype: str = "float32", n: int = 100,
                 limit_train: int | None = None, limit_test: int | None = None,
                 download: bool = True, verify: bool = True) -> Dataset:
    """Load a data set by name and variant, ready for any implementation.

    ``root`` (else $MLP_BENCH_DATA_DIR, else the user cache) is where files are read;
    ``split``/``seed`` choose Titanic's split; ``n`` is Drujba's size; ``limit_*`` keep the
    first rows for smoke runs; ``download=False`` never fetches a missing file;
    ``verify=False`` skips checksum checks of local files (for deliberately modified
    copies; downloads are always verified). Bad arguments raise ValueError, bad or
    missing data DataError, both before any training starts.
    """
    loader = get(name)
    opts = LoadOptions(root=root, split=split, seed=seed, dtype=dtype, n=n, limit_train=limit_train,
                       limit_test=limit_test, download=download, verify=verify)
    check_options(opts)
    for option, owner in OWN_OPTIONS.items():
        if name != owner and getattr(opts, option) != getattr(LoadOptions(), option):
            raise ValueError(f"data.{option} applies to {owner} only, not {name}: drop it")
    return loader(variant or DEFAULT_VARIANTS[name], with_plain_ints(opts))
