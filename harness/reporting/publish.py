"""Build a report folder aside, then swap it in: a failed build never damages the previous page.

The page, its tables and figures are written into a private staging folder beside the report
folder (same file system, so moves are renames). Only when every file is complete are its
entries moved into place, index.html last; a failure while writing (disk full) leaves the
previous report exactly as it was, and the WriteFailed raised says so.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from harness.runs_table import locked
from harness.write_failure import WriteFailed, writing

PAGE = "index.html"


def kept(out: Path) -> str:
    """What a report that stops before its swap says of the previous one: nothing of it was touched."""
    return f"the previous report in {out} is left as it was"


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A staging folder to build `out`'s new content in; on normal exit its entries replace
    `out`'s (other files in `out` are left alone). WriteFailed names the file as it would be in
    `out` and says the previous report is intact."""
    with writing(out / PAGE):
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    try:
        try:
            yield stage
        except WriteFailed as failure:
            raise WriteFailed(_as_in(out, stage, failure.path), failure.error,
                              kept=kept(out)) from None
        with locked(out):  # two reports finishing at once swap one after the other
            _swap_in(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _as_in(out: Path, stage: Path, path: Path) -> Path:
    """Where a staged file would have gone."""
    try:
        return out / path.relative_to(stage)
    except ValueError:
        return path


def _swap_in(stage: Path, out: Path) -> None:
    """Move each staged entry into `out`, the page last; put the old entries back if a move fails."""
    names = sorted(os.listdir(stage), key=lambda name: name == PAGE)
    with writing(out / PAGE):
        old = Path(tempfile.mkdtemp(dir=out, prefix=".report.old-"))
    moved: list[str] = []
    try:
        for name in names:
            with writing(out / name):
                if (out / name).exists():
                    os.replace(out / name, old / name)
                os.replace(stage / name, out / name)
            moved.append(name)
    except WriteFailed as failure:
        for name in moved:  # back to the previous report
            os.replace(out / name, stage / name)
        for name in os.listdir(old):
            os.replace(old / name, out / name)
        raise WriteFailed(failure.path, failure.error, kept=kept(out))
    finally:
        shutil.rmtree(old, ignore_errors=True)
