"""Mutation testing with mutmut, one module at a time, each against only the fast tests that
exercise it (the machine is shared and a full run of every test per mutant would take hours).

Each module runs in its own scratch copy of the repository (``.mutation/<name>/``) whose
pyproject.toml names that module alone and its test files, so runs never mix and a rerun
only retests what changed. Prints, per module, killed / total and the surviving mutants.

    python scripts/mutation.py                  # every module below
    python scripts/mutation.py optimizers stats # the named ones (by file stem)
    python scripts/mutation.py --survivors      # retest only the last run's survivors (after new tests)
    python scripts/mutation.py --max-children 1 verdicts  # one test process at a time

The number of mutants tested at once is ``--max-children N`` (or ``--max-children=N``), else the
environment variable ``MUTATION_JOBS``, else 2.

See docs/mutation.md for the scores and the surviving mutants judged equivalent.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".mutation"
# The fast test files that exercise each module. Keras parity and the Titanic fit are left out
# (seconds each, and the hand-computed steps in test_mlp_steps.py check the same updates).
SLOW = ["--deselect", "tests/test_mlp_api.py::test_article_example_runs_and_learns"]
MLP_TESTS = ["tests/test_mlp_steps.py", "tests/test_mlp_backprop.py", "tests/test_mlp_gradients.py",
             "tests/test_mlp_api.py", "tests/test_mlp_validation.py"]
MODULES: dict[str, list[str]] = {
    "mlp_impl/optimizers.py": MLP_TESTS,
    "mlp_impl/training.py": MLP_TESTS + ["tests/test_mlp_parallel.py"],
    "mlp_impl/losses.py": MLP_TESTS + ["tests/test_mlp_parallel.py"],  # a split step averages over all rows
    "mlp_impl/activations.py": MLP_TESTS,
    "mlp_impl/sampling.py": MLP_TESTS,
    "mlp_impl/parallel.py": ["tests/test_mlp_parallel.py"],
    "harness/reporting/stats.py": ["tests/test_report_stats.py"],  # test_report_tables: ~40 s a mutant
    "harness/reporting/verdicts.py": ["tests/test_report_verdicts.py", "tests/test_report_claims.py"],
    "harness/reporting/multiple_testing.py": ["tests/test_report_verdicts.py", "tests/test_report_claims.py"],
}
# modules where only some functions are under test here: mutant name patterns (mutmut's names)
ONLY: dict[str, list[str]] = {}
COPIED = ["mlp_impl", "harness", "experiments", "conf", "tests", "results/reference"]
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


def scratch_copy(module: str, tests: list[str]) -> Path:
    """A copy of the sources and tests whose pyproject.toml tells mutmut to mutate ``module``
    alone and to run only ``tests``; the previous copy's results are kept (mutmut reuses them)."""
    work = SCRATCH / Path(module).stem
    work.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copytree(ROOT / name, work / name, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "benchmarks"))
    config = (ROOT / "pyproject.toml").read_text()
    config = re.sub(r'addopts = "[^"]*"', 'addopts = "-p no:benchmark -q"', config)
    config += (
        "\n[tool.mutmut]\n"
        'source_paths = ["mlp_impl", "harness", "experiments"]\n'
        f'only_mutate = ["{module}"]\n'
        'also_copy = ["conf", "results/reference"]\n'
        f"pytest_add_cli_args_test_selection = {tests!r}\n".replace("'", '"')
    )
    (work / "pyproject.toml").write_text(config)
    return work


def statuses(work: Path, env: dict[str, str]) -> dict[str, str]:
    """mutant name -> status, from ``mutmut results --all``."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=work, env=env,
                         capture_output=True, text=True, check=True).stdout
    found = (line.strip().rsplit(": ", 1) for line in out.splitlines() if ": " in line)
    return {name: status for name, status in found}


def run_module(module: str, tests: list[str], max_children: int, survivors_only: bool) -> tuple[int, int, list[str]]:
    """Run mutmut on one module; returns (killed, total, surviving mutant names). A scratch copy
    that exists resumes where it stopped; ``survivors_only`` retests only the mutants that
    survived its last run, with the current tests (the others stay killed)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # import the mutants, not ROOT
    saved = SCRATCH / f"{Path(module).stem}-results.json"
    names, previous = ONLY.get(module, []), {}
    if survivors_only:  # mutmut forgets the other results when given names: keep them here
        previous = json.loads(saved.read_text())
        names = [name for name, status in previous.items() if status not in KILLED]
    tests = [t for t in tests if (ROOT / t).exists()]
    if not tests:  # pytest would run every test under testpaths instead
        raise SystemExit(f"none of the test files for {module} exists: {', '.join(MODULES[module])}")
    work = scratch_copy(module, tests + SLOW)
    if survivors_only:  # mutmut re-profiles only tests with new names: a tightened old test that now
        # reaches a mutant it did not reach before would never run on it, so profile every test again
        (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    if names or not survivors_only:
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *names],
                       cwd=work, env=env, check=False, stdout=subprocess.DEVNULL)
    found = statuses(work, env)
    if names:
        found = {k: v for k, v in found.items() if any(fnmatch.fnmatch(k, p) for p in names)}
    found = previous | found
    saved.write_text(json.dumps(found, indent=1, ensure_ascii=False))
    survivors = sorted(name for name, status in found.items() if status not in KILLED)
    return len(found) - len(survivors), len(found), survivors


def main(argv: list[str]) -> int:
    """Run the selected modules (all by default) one after another and print their scores."""
    survivors_only = "--survivors" in argv
    argv = [a for a in argv if a != "--survivors"]
    children = int(os.environ.get("MUTATION_JOBS", "2"))
    for i, arg in enumerate(argv):
        if arg == "--max-children" or arg.startswith("--max-children="):
            inline = "=" in arg
            value = arg.partition("=")[2] if inline else (argv[i + 1] if i + 1 < len(argv) else "")
            if not value.isdigit() or int(value) < 1:
                print("--max-children needs a whole number of at least 1", file=sys.stderr)
                return 2
            children = int(value)
            argv = argv[:i] + argv[i + (1 if inline else 2):]
            break
    chosen = [m for m in MODULES if not argv or Path(m).stem in argv]
    if argv and len(chosen) != len(argv):
        known = ", ".join(Path(m).stem for m in MODULES)
        print(f"unknown module in {' '.join(argv)}: use some of {known}", file=sys.stderr)
        return 2
    lines = []
    for module in chosen:
        killed, total, survivors = run_module(module, MODULES[module], children, survivors_only)
        score = f"{module}: {killed}/{total} killed ({100 * killed / max(total, 1):.1f}%)"
        print(score + "".join(f"\n    survived: {name}" for name in survivors), flush=True)
        lines.append(score)
    print("\n".join(["", "mutation score per module:"] + lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
