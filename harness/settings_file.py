"""The one reader of a folder's settings files: config.yaml (what resume=true compares, what
harness.rerun runs again, what the report shows) and a sweep's multirun.yaml (whose sweep it is).

A run writes config.yaml whole (harness.run.write_run_files links a complete temporary file into
place) as the non-empty YAML mapping of its resolved settings. Anything else there is spoilt
(SpoiltSettings): empty, a single value or a list, bytes that are not UTF-8 text, text that is not
YAML (or repeats a key), values OmegaConf cannot hold, an interpolation that cannot be resolved. A
file the OS will not let it read (EIO, EACCES, a folder in its place) is UnreadableSettings. Both
are ValueErrors whose `problem` names the file and what is wrong and whose `fix` says what puts it
right; each caller says in its one line why it reads the file, and what else may be done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import InterpolationResolutionError, OmegaConfBaseException

from harness.write_failure import describe


class SettingsFileError(ValueError):
    """A settings file the harness cannot take: `problem` (naming the file) and `fix`."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem, self.fix = problem, fix


class UnreadableSettings(SettingsFileError):
    """The OS would not let the file be read (`error`): it may be a good file."""

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(f"cannot read {path} ({describe(error)})", "make it readable")
        self.error = error


class SpoiltSettings(SettingsFileError):
    """The file was read, and is not the YAML mapping a run writes (`why`)."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path} is not the YAML mapping a run writes ({why})", "put back the file the run wrote")
        self.why = why


def read_settings(path: Path) -> tuple[str, dict[Any, Any]]:
    """The text of the settings file at `path` and the mapping it holds, as written (interpolations
    left as they are: Hydra's own copies hold some); UnreadableSettings or SpoiltSettings."""
    from omegaconf._utils import get_yaml_loader  # OmegaConf.load's own loader: repeated keys refused

    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise UnreadableSettings(path, error) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise SpoiltSettings(path, f"not UTF-8 text: byte 0x{data[error.start]:02x} at line {line}") from None
    try:
        settings = yaml.load(text, Loader=get_yaml_loader())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        why = getattr(error, "problem", None) or (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise SpoiltSettings(path, f"{why} at line {mark.line + 1}" if mark is not None else why) from None
    if isinstance(settings, list):
        raise SpoiltSettings(path, "a list, not settings")
    if not isinstance(settings, dict):
        if settings is None:
            raise SpoiltSettings(path, "empty: no settings")
        shown = repr(settings) if len(repr(settings)) <= 40 else f"{repr(settings)[:37]}..."
        raise SpoiltSettings(path, f"the single value {shown}, not settings")
    if not settings:
        raise SpoiltSettings(path, "empty: no settings")
    return text, settings


def load_settings(path: Path) -> dict[str, Any]:
    """The settings of the config.yaml at `path`, resolved (the run wrote them resolved: an
    interpolation there was added by hand), as plain values; UnreadableSettings or SpoiltSettings."""
    _, settings = read_settings(path)
    try:
        resolved = OmegaConf.to_container(OmegaConf.create(settings), resolve=True)
    except OmegaConfBaseException as error:
        why = (str(error).strip().splitlines() or [type(error).__name__])[0]
        key = getattr(error, "full_key", None)
        where = f" at {key}" if key else ""
        if isinstance(error, InterpolationResolutionError):
            why = f"an interpolation that cannot be resolved{where}: {why}"
        else:
            why = f"{why}{where}"
        raise SpoiltSettings(path, why) from None
    return cast(dict[str, Any], resolved)
