"""Numbers as the page and the terminal write them: significant digits, a ratio's bounds, a mean
with its interval."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def fmt(value: Any, digits: int = 3) -> str:
    """A number with `digits` significant digits, except that a large one that would print as
    1.63e+03, below a million, is written out whole (1634); '—' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if not isinstance(value, (float, np.floating)):
        return str(value)
    text = f"{value:.{digits}g}"
    return f"{value:.0f}" if "e+" in text and abs(value) < 1e6 else text  # 1634, not 1.63e+03


def ratio_bound_text(bound: float) -> str:
    """A ratio's interval bound with 3 significant digits, more when 3 would round it onto 1
    (0.9996 -> '0.9996', not '1'), so the printed interval shows the side of 1 it lies on."""
    for digits in range(3, 8):
        text = fmt(bound, digits)
        if float(text) != 1.0 or bound == 1.0:
            return text
    return fmt(bound, 8)


def mean_text(mean: float, low: float, high: float, digits: int = 4) -> str:
    """'0.7812 [0.77, 0.791]': a mean of seeds with its interval; just the mean where there is no
    interval (a single run), '—' without a value."""
    if pd.isna(mean) or pd.isna(low) or pd.isna(high):
        return fmt(mean, digits)
    return f"{fmt(mean, digits)} [{fmt(low, digits)}, {fmt(high, digits)}]"
