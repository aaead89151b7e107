"""Finding a data file, and fetching a missing one into the user cache atomically.

The transfer itself is pooch's (the scientific-Python standard for fetching data files: HTTP and
FTP, timeouts, a progress bar); the rules are ours: only the cache is written, a file is checked
(content checksum) before it is moved into place, and each mirror is tried in turn.
"""

from __future__ import annotations

import http.client
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse
from urllib.request import url2pathname


from .errors import DataError, data_error
from .paths import HOW_TO_PROVIDE, cache_dir

FETCH_TIMEOUT_S = 60.0
REASON_CHARS = 300  # per mirror: enough for an HTTP status or a data check
Verifier = Callable[[Path, str], None]  # (file, where it came from) -> None or DataError


def fetch_url(url: str, out: BinaryIO, timeout: float = FETCH_TIMEOUT_S) -> None:
    """Copy the bytes at ``url`` (https://, http://, ftp:// through pooch; file:// read directly)
    into ``out``. A failure raises OSError (requests' errors are OSErrors too).

    Kept as one small module-level function so tests can replace it and never touch
    the network.
    """
    scheme = urlparse(url).scheme
    if scheme == "file":
        with open(url2pathname(urlparse(url).path), "rb") as source:
            shutil.copyfileobj(source, out, 1 << 20)
        return
    import pooch  # only when a file must be downloaded
    progress = sys.stderr.isatty()
    if scheme in ("http", "https"):
        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeout)
    elif scheme == "ftp":
        downloader = pooch.FTPDownloader(progressbar=progress, timeout=timeout)
    else:
        raise OSError(f"unsupported URL scheme {scheme!r} in {url}: use https://, http://, ftp:// or file://")
    downloader(url, out, None)


def download(urls: Sequence[str], dest: Path, verify: Verifier) -> Path:
    """Fetch the first mirror that verifies into ``dest``: temp file, check, os.replace.

    Why atomic: an interrupted or corrupted download must never leave a file at ``dest``
    that a later run would trust. Raises OSError naming ``dest`` and each mirror's URL
    with its failure (the temp file is gone by then, so it is never named).
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
            failures.append(f"{url} ({failure_reason(exc)})")
        finally:
            tmp.unlink(missing_ok=True)
    raise OSError(f"download into {dest} failed: {'; '.join(failures) or 'no download source known'}")


def failure_reason(exc: BaseException) -> str:
    """Why one mirror failed, on one line, cut at a word (never mid-path) past REASON_CHARS.

    A DataError gives its problem alone: its file is the deleted temp file and its fix
    (replace the file) does not apply to a download that was never saved.
    """
    text = exc.problem if isinstance(exc, DataError) and exc.problem else str(exc)
    return textwrap.shorten(text or type(exc).__name__, REASON_CHARS, placeholder=" ...")


def locate(relpaths: Sequence[str], root: Path, *, urls: Sequence[str] = (),
           verify: Verifier | None = None, allow_download: bool = True) -> tuple[Path, bool]:
    """Path of a data file: under ``root``, else in the user cache, else downloaded into the cache.

    Looks for each of ``relpaths`` (alternative names, e.g. with and without .gz) under
    ``root``, then under the cache. Why the cache and never ``root``: a folder the user named
    may be read-only or shared, so only the private cache is ever written. Returns (path,
    downloaded). Missing and not downloadable (offline, no source, or downloads off): one
    DataError saying where the file is expected and how to provide it.
    """
    cache = cache_dir()
    for base in (root, cache):
        for rel in relpaths:
            if (base / rel).is_file():
                return base / rel, False
    expected = root / relpaths[0]
    downloadable = bool(urls) and verify is not None
    if not allow_download or not downloadable:
        why = "downloads are off" if downloadable else "no download source for it"
        raise data_error(f"missing data file ({why})", expected,
                         f"put the file there or {HOW_TO_PROVIDE}")
    try:
        return download(urls, cache / relpaths[0], verify), True
    except OSError as exc:
        raise data_error(f"missing data file and {' '.join(str(exc).split())}", expected,
                         f"put the file there or {HOW_TO_PROVIDE}") from exc
