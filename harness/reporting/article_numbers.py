"""The article's published numbers, read from results/reference/article.yaml (its fields are described
at the top of that file) and checked before any table is made: a file that is missing, is not YAML
or holds an entry the reproduction table cannot read is refused in one line, and each `ratio_of`
entry gets the range of a ratio of the two ranges it names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

DEFAULT_REFERENCE = Path(__file__).resolve().parents[2] / "results" / "reference" / "article.yaml"


def load_reference(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The article's numbers (results/reference/article.yaml unless `path` is given). A file that
    is missing, is not YAML or holds an entry the table cannot read raises a one-line ValueError."""
    if path is None and not DEFAULT_REFERENCE.is_file():
        raise ValueError(f"reference numbers not found at {DEFAULT_REFERENCE}: "
                         "restore results/reference/article.yaml from git")
    path = Path(path) if path is not None else DEFAULT_REFERENCE
    if not path.is_file():
        raise ValueError(f"reference numbers not found at {path}; give --reference an existing file "
                         f"of the article's numbers, e.g. {DEFAULT_REFERENCE}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path} is not valid YAML ({_yaml_problem(error)}); fix it") from None
    if not isinstance(data, dict) or not isinstance(data.get("numbers"), list):
        raise ValueError(f"{path} has no 'numbers' list: see the field description at the top of the file")
    for entry in data["numbers"]:
        _check_entry(entry, path)
    _ratio_ranges(data["numbers"], path)
    return data


def _yaml_problem(error: yaml.YAMLError) -> str:
    """What the YAML parser objects to and where, in a few words."""
    problem = getattr(error, "problem", None) or str(error).strip().splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    return f"{problem} at line {mark.line + 1}" if mark is not None else problem


def _check_entry(entry: Any, path: Path) -> None:
    """An entry of `numbers` needs an id, a measure and the article's number (a value, a bound, a
    [low, high] range, or ratio_of, which ``_ratio_ranges`` checks), as numbers."""
    if not isinstance(entry, dict):
        raise ValueError(f"{path}: an entry is not a mapping ({entry!r}); "
                         "write each as id: ..., measure: ..., value: ...")
    if "id" not in entry:
        raise ValueError(f"{path}: an entry has no id ({entry}); give each entry a unique id")
    name = entry["id"]
    if "measure" not in entry:
        raise ValueError(f"{path}: {name} has no measure; see the field description at the top of article.yaml")
    if not any(key in entry for key in ("value", "bound", "range", "ratio_of")):
        raise ValueError(f"{path}: {name} has no value; give the article's number as value, bound, range or ratio_of")
    for key in ("value", "bound"):
        if key in entry and not _is_number(entry[key]):
            raise ValueError(f"{path}: {name}'s {key} must be a number, not {entry[key]!r}")
    given = entry.get("range", [0, 0]) if "ratio_of" not in entry else [0, 0]
    if not (isinstance(given, list) and len(given) == 2 and all(map(_is_number, given))):
        raise ValueError(f"{path}: {name}'s range must be [low, high], two numbers, not {given!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ratio_ranges(numbers: list[dict[str, Any]], path: Path) -> None:
    """Give each `ratio_of: [a, b]` entry the range of a ratio of medians that lie in a's and b's
    ranges (a_low/b_high to a_high/b_low) and, where either gives a `read_error`, `read_range`:
    that range widened by each one's error (numbers read off a figure are known only that closely)."""
    by_id = {n.get("id"): n for n in numbers}
    for entry in numbers:
        if "ratio_of" not in entry:
            continue
        parts = [by_id.get(i) for i in entry["ratio_of"]]
        if "range" in entry or "value" in entry:
            raise ValueError(f"{path}: {entry.get('id')} has ratio_of and a typed range or value: keep ratio_of only")
        if len(parts) != 2 or any(part is None or len(part.get("range") or ()) != 2 for part in parts):
            raise ValueError(f"{path}: {entry.get('id')}'s ratio_of must name two entries that have a range")
        given = [v for part in parts for v in (*part["range"], part.get("read_error", 0.0))]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in given):
            raise ValueError(f"{path}: {entry['ratio_of']}'s ranges and read_error must be numbers of 0 or more")
        (a_low, a_high, a_error), (b_low, b_high, b_error) = given[:3], given[3:]
        if a_low > a_high or b_low > b_high:
            raise ValueError(f"{path}: {entry['ratio_of']}'s ranges must run from low to high")
        if b_low <= 0:
            raise ValueError(f"{path}: {entry['ratio_of'][1]}'s range must start above 0 to divide by it")
        if b_error >= b_low:
            raise ValueError(f"{path}: {entry['ratio_of'][1]}'s read_error must be below its range's low end")
        entry["range"] = [a_low / b_high, a_high / b_low]
        entry["ratio_parts"] = [[a_low, a_high], [b_low, b_high]]  # each side's published time (reference._moved)
        if a_error or b_error:
            entry["read_range"] = [max(0.0, a_low - a_error) / (b_high + b_error),
                                   (a_high + a_error) / (b_low - b_error)]
        unit = parts[0].get("unit") or ""
        derived = (f"the range is {a_low:g}–{a_high:g} {unit} over {b_low:g}–{b_high:g} {unit} "
                   f"({' over '.join(str(part.get('quantity') or part['id']) for part in parts)})")
        entry["note"] = f"{derived}; {entry['note']}" if entry.get("note") else derived
