"""Where data lives: an explicit root, else $MLP_BENCH_DATA_DIR, else a user cache."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import data_error

ENV_VAR = "MLP_BENCH_DATA_DIR"
HOW_TO_PROVIDE = (
    f"set the config key data.root (it comes first) or {ENV_VAR} to a folder holding mnist/ and titanic/"
)


def cache_dir() -> Path:
    """The user cache downloads go to: $XDG_CACHE_HOME/mlp-bench/data or ~/.cache/mlp-bench/data.

    Why a cache and never the user's folder: a user-named folder may be read-only or
    shared (like /work/shared), so only this private folder is ever written.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "mlp-bench" / "data"


def resolve_data_root(root: Path | str | None = None) -> Path:
    """The data folder to read: explicit ``root``, else $MLP_BENCH_DATA_DIR, else cache_dir().

    A folder the user named (argument or environment) must exist: a typo should fail at
    once, not trigger a silent download elsewhere. The cache folder need not exist yet.
    """
    if root is not None and str(root) != "":
        return _existing(Path(root).expanduser(), "data.root / root argument")
    env = os.environ.get(ENV_VAR)
    if env:
        return _existing(Path(env).expanduser(), ENV_VAR)
    return cache_dir()


def _existing(folder: Path, origin: str) -> Path:
    if not folder.exists():
        raise data_error(f"data folder does not exist (from {origin})", folder,
                         f"create it or {HOW_TO_PROVIDE}")
    if not folder.is_dir():
        raise data_error(f"data folder is not a directory (from {origin})", folder,
                         HOW_TO_PROVIDE)
    return folder.resolve()
