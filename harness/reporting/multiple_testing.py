"""The reproduction table's verdicts that rest on a test's p, read as one family of tests.

Each verdict is a test at level ALPHA: were the article right on every number, chance alone would
still make about one in twenty of them significant. ``family_note`` says how many that is for the
table, names the significant ones and which of them survive Holm's adjustment over the family
(``stats.holm``); verdicts read from an interval or a bound, and those whose runs have no spread
(harness.reporting.verdicts), have no p and are counted apart.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from harness.reporting.stats import ALPHA, holm, p_is


def _family(p_values: Sequence[float]) -> tuple[np.ndarray, int]:
    """The family's p-values as floats (None: NaN, a verdict without a test's p) and how many have one."""
    p = np.array([math.nan if v is None else v for v in p_values], dtype=np.float64)
    return p, int(np.isfinite(p).sum())


def family_note(p_values: Sequence[float], names: Sequence[str], interval_read: int = 0, no_spread: int = 0) -> str:
    """The verdicts that rest on a test's p, read as one family: how many significant differences
    chance alone would give if the article were right on all of them, and which survive Holm's
    adjustment over the family; `interval_read` verdicts came from an interval and have no p, nor have
    the `no_spread` ones (``verdicts.UNTESTED``: no test ran), so both are counted, each group apart, and left
    out ('' when no verdict has a p)."""
    p, tested = _family(p_values)
    if not tested:
        return ""
    outside = _not_counted(interval_read, no_spread)
    adjusted = holm(p)
    differ = [i for i in range(p.size) if p[i] < ALPHA]
    named = "; ".join(f"{names[i]} ({p_is(p[i])})" for i in differ)
    if tested == 1:
        text = (f"1 verdict comes from a test at level {ALPHA}{outside}: were the article right on it, chance alone "
                f"would make it significant {ALPHA:.0%} of the time. ")
        return text + (f"It is significant: {named}." if differ else "It is not significant.")
    text = (f"{tested} verdicts come from a test at level {ALPHA} each{outside}: were the article right on all of "
            f"them, chance alone would make about {tested * ALPHA:.2g} of them significant on average "
            f"({tested} × {ALPHA}). ")
    if not differ:
        return text + "None is significant."
    text += f"{len(differ)} {'is' if len(differ) == 1 else 'are'} significant: {named}. "
    kept = [i for i in differ if adjusted[i] < ALPHA]
    lost = [f"{names[i]} (Holm {p_is(adjusted[i])})" for i in differ if adjusted[i] >= ALPHA]
    if not kept:
        return text + (f"Read as one of {tested} tests, {'it' if len(differ) == 1 else 'each'} could be chance: "
                       f"{'; '.join(lost)}.")
    if len(kept) == len(differ):
        return text + (f"With Holm's adjustment over the {tested}, "
                       f"{'it remains' if len(kept) == 1 else 'both remain' if len(kept) == 2 else f'all {len(kept)} remain'}"
                       " significant.")
    held = "; ".join(f"{names[i]} (Holm {p_is(adjusted[i])})" for i in kept)
    return text + (f"With Holm's adjustment over the {tested}, {len(kept)} "
                   f"{'remains' if len(kept) == 1 else 'remain'} significant: {held}"
                   + (f"; the rest could be chance: {'; '.join(lost)}." if lost else "."))


def tally_note(p_values: Sequence[float], differ: Sequence[bool]) -> str:
    """For the count of verdicts above the table: of the verdicts that differ from the article on a
    test's p (`differ`), how many remain significant once the family is adjusted (Holm), as
    ``family_note`` says below the table; '' when none differs on a p, or a single test was made."""
    p, tested = _family(p_values)
    found = [i for i in range(p.size) if differ[i] and np.isfinite(p[i])]
    if not found or tested == 1:  # one test has nothing to adjust for (family_note says so)
        return ""
    adjusted = holm(p)
    kept = sum(1 for i in found if adjusted[i] < ALPHA)
    remain = "none remains" if kept == 0 else "it remains" if len(found) == 1 else f"{kept} remain{'s' * (kept == 1)}"
    return (f" (of the {len(found)} difference{'' if len(found) == 1 else 's'} from a test, {remain} significant "
            f"once adjusted for the {tested} tests: see the note below the table)")


def row_notes(p_values: Sequence[float]) -> list[str]:
    """Per verdict, what its row adds to its test: for a significant one among several tests, its p adjusted over
    the family (Holm), as ``family_note`` reads it, and whether it could be chance; '' for the others."""
    p, tested = _family(p_values)
    if tested < 2:
        return [""] * p.size
    adjusted = holm(p)
    return [f"; adjusted over the {tested} tests (Holm): {p_is(adjusted[i])}"
            f"{', could be chance' if adjusted[i] >= ALPHA else ', still significant'}"
            if np.isfinite(p[i]) and p[i] < ALPHA else "" for i in range(p.size)]


def _not_counted(interval_read: int, no_spread: int) -> str:
    """' (the 2 read from an interval or a bound and the 1 whose runs have no spread have no p and are
    not counted)', or '' when every verdict has a p."""
    groups = [f"the {count} {what}" for count, what in ((interval_read, "read from an interval or a bound"),
                                                        (no_spread, "whose runs have no spread")) if count]
    if not groups:
        return ""
    one = interval_read + no_spread == 1
    return f" ({' and '.join(groups)} {'has' if one else 'have'} no p and {'is' if one else 'are'} not counted)"
