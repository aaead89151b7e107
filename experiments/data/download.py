"""Finding a data file, and fetching a missing one into the user cache atomically."""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import DataError, data_error
from .paths import HOW_TO_PROVIDE, cache_dir

FETCH_TIMEOUT_S = 60.0
Verifier = Callable[[Path, str], None]  # (file, where it came from) -> None or DataError


def fetch_url(url: str, out: BinaryIO, timeout: float = FETCH_TIMEOUT_S) -> None:
    """Copy the bytes at ``url`` (https://, http:// or file://) into ``out``.

    Kept as one small module-level function so tests can replace it and never touch
    the network.
    """
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed URLs)
        shutil.copyfileobj(response, out, 1 << 20)


def download(urls: Sequence[str], dest: Path, verify: Verifier) -> Path:
    """Fetch the first mirror that verifies into ``dest``: temp file, check, os.replace.

    Why atomic: an interrupted or corrupted download must never leave a file at ``dest``
    that a later run would trust. Raises OSError listing every mirror's failure.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                fetch_url(url, out)
                out.flush()
                os.fsync(out.fileno())
            verify(tmp, url)
            os.replace(tmp, dest)
            return dest
        # urllib's URLError is an OSError; a cut connection raises http.client.IncompleteRead
        except (OSError, DataError, http.client.HTTPException) as exc:
            failures.append(f"{url} ({' '.join(str(exc).split())[:200]})")
        finally:
            tmp.unlink(missing_ok=True)
    raise OSError("; ".join(failures) or "no download source known")


def locate(relpaths: Sequence[str], root: Path, *, urls: Sequence[str] = (),
           verify: Verifier | None = None, allow_download: bool = True) -> tuple[Path, bool]:
    """Path of a data file, downloading it into the cache when it is nowhere on disk.

    Looks for each of ``relpaths`` (alternative names, e.g. with and without .gz) under
    ``root``, then under the cache. Returns (path, downloaded). Missing and not
    downloadable (offline, no source, or downloads off): one DataError saying where the
    file is expected and how to provide it.
    """
    cache = cache_dir()
    for base in (root, cache):
        for rel in relpaths:
            if (base / rel).is_file():
                return base / rel, False
    expected = root / relpaths[0]
    if not allow_download or not urls or verify is None:
        why = "downloads are off" if urls and not allow_download else "no download source for it"
        raise data_error(f"missing data file ({why})", expected,
                         f"put the file there or {HOW_TO_PROVIDE}")
    try:
        return download(urls, cache / relpaths[0], verify), True
    except OSError as exc:
        reason = " ".join(str(exc).split())
        raise data_error(f"missing data file and download into {cache} failed [{reason}]",
                         expected, f"put the file there or {HOW_TO_PROVIDE}") from exc
