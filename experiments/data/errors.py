"""The one exception data loading raises for bad or missing data."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """A data folder or file is missing, truncated, corrupted or not in the expected format.

    A ValueError subclass so callers that catch bad input in general also catch it; the
    message is always one line naming the problem, the file and the fix. ``problem`` holds
    the problem alone, for a caller that names the file and the fix itself (a download).
    """

    problem: str = ""


def data_error(problem: str, path: Path | str, fix: str) -> DataError:
    """Build a DataError with the house format: problem, file, fix, on one line.

    Why: every loader reports failures the same way, so users (and tests) can rely on
    the message naming the file and saying what to do.
    """
    text = f"{problem}: {path}; {fix}"
    error = DataError(" ".join(text.split()))
    error.problem = " ".join(problem.split())
    return error
