"""The run's git stamp (environment.git_state): which uncommitted changes make a run "dirty".

Checked on a scratch repository with real `git status` output: the first line of the porcelain
format starts with a space for an unstaged change, which must survive as part of its status
columns, not shift the path."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness import environment


@pytest.fixture(autouse=True)
def _no_outer_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """git_state reads the scratch repository, not one named by an outer GIT_DIR (e.g. a git hook's)."""
    for name in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(name)


def _git(repo: Path, *args: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}  # e.g. run from a git hook
    subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=repo, check=True, capture_output=True, env=clean)


def _repo(tmp_path: Path) -> Path:
    def git(*args: str) -> None:
        _git(tmp_path, *args)
    git("init", "-q")
    git("config", "user.email", "test@example.org")
    git("config", "user.name", "test")
    (tmp_path / "results" / "reference").mkdir(parents=True)
    (tmp_path / "results" / "reference" / "article.yaml").write_text("numbers: 1\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "-A")
    git("commit", "-q", "-m", "start")
    return tmp_path


def test_a_clean_tree_is_not_dirty(tmp_path: Path) -> None:
    state = environment.git_state(_repo(tmp_path))
    assert state["dirty"] is False and state["changed_files"] == [] and len(state["commit"]) == 40


def test_changes_under_results_alone_leave_the_run_clean(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "results" / "reference" / "article.yaml").unlink()  # " D results/...": the first line
    (repo / "results" / "runs").mkdir()
    (repo / "results" / "runs" / "new.json").write_text("{}")
    state = environment.git_state(repo)
    assert state["dirty"] is False and state["changed_files"] == [] and state["warning"] is None


def test_code_changes_are_named_with_their_whole_path(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "code.py").write_text("x = 2\n")  # " M code.py", the first line of the status
    (repo / "new.py").write_text("")  # untracked code counts too
    state = environment.git_state(repo)
    assert state["dirty"] is True and sorted(state["changed_files"]) == ["code.py", "new.py"]
    assert "2 files" in state["warning"]


def test_a_rename_out_of_results_is_code_and_quoted_names_stay_paths(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _git(repo, "mv", "results/reference/article.yaml", "settings.yaml")  # "R  settings.yaml", source after
    (repo / "results" / "a b é").mkdir()
    (repo / "results" / "a b é" / "run.json").write_text("{}")  # quoted by plain porcelain
    state = environment.git_state(repo)
    assert state["changed_files"] == ["settings.yaml"] and "(1 file)" in state["warning"]


def test_every_untracked_file_counts_whatever_the_users_config(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _git(repo, "config", "status.showUntrackedFiles", "no")
    (repo / "pkg").mkdir()
    (repo / "pkg" / "a.py").write_text("")
    (repo / "pkg" / "b.py").write_text("")
    state = environment.git_state(repo)
    assert state["dirty"] is True and sorted(state["changed_files"]) == ["pkg/a.py", "pkg/b.py"]


def test_a_file_name_that_is_not_utf8_is_read_not_fatal(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    with open(os.path.join(os.fsencode(repo / "results"), b"run-\xe9.json"), "w") as out:
        out.write("{}")
    assert environment.git_state(repo)["dirty"] is False
    with open(os.path.join(os.fsencode(repo), b"lat\xe9.py"), "w") as out:
        out.write("")
    state = environment.git_state(repo)
    assert state["dirty"] is True and state["changed_files"] == [os.fsdecode(b"lat\xe9.py")]


def test_changed_paths_reads_renames_and_copies_by_either_path() -> None:
    status = "R  results/x.yaml\0code.py\0 M results/y.json\0C  new.py\0results/z.py\0?? outputs/log\0"
    assert environment.changed_paths(status) == ["code.py", "new.py"]
    assert environment.changed_paths("") == []


def test_outside_a_repository_the_state_is_unknown(tmp_path: Path) -> None:
    state = environment.git_state(tmp_path)
    assert state["commit"] is None and state["dirty"] is None and state["changed_files"] == []
