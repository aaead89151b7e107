"""The suite's own process stays sound: a test that first imports submitit while its capsys holds
stderr does not close pytest's capture of stderr, whatever imported TensorFlow before (tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).resolve().parent / "conftest.py"

# absl.logging is what importing TensorFlow (keras) at collection brings: a logging handler bound to
# sys.stderr of that moment, pytest's capture, which it closes when logging is configured anew.
TENSORFLOW_AT_COLLECTION = "import absl.logging  # noqa: F401\n"
SUBMITIT_IN_A_TEST = '''import sys


def test_first_imports_submitit_under_capsys(capsys):
    import submitit  # noqa: F401
    print("said", file=sys.stderr)
    assert capsys.readouterr().err == "said\\n"


def test_runs_after_it():
    print("still captured", file=sys.stderr)
'''


def test_first_import_of_submitit_under_capsys_leaves_pytests_capture_open(tmp_path: Path) -> None:
    """submitit's first import configures logging (logging.config.dictConfig), which closes every handler
    of the process; absl's, made at collection, then closed pytest's capture of stderr (capsys held
    sys.stderr, so absl took it for a stream of its own) and every later test of the process errored:
    'ValueError: I/O operation on closed file' (1129 errors under make test). The suite's conftest.py
    imports submitit before any test module, so that configuration comes before absl's handler."""
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_a_tensorflow.py").write_text(TENSORFLOW_AT_COLLECTION)
    (tmp_path / "test_b_submitit.py").write_text(SUBMITIT_IN_A_TEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # not an xdist worker
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "2 passed" in done.stdout
