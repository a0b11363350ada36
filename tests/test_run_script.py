"""``./run`` answers usage questions before it sets anything up; ``.ci/run`` is ``./run tests``.

(The jobs themselves create a virtual environment and install packages: they are run on a
fresh clone by hand and in CI, not from the test suite.)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "run"

pytestmark = pytest.mark.skipif(not RUN.is_file() or shutil.which("bash") is None,
                                reason="needs the checkout's run script and bash")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(RUN), *args], capture_output=True, text=True,
                          timeout=60, check=False, cwd=ROOT)


@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
def test_help_prints_usage(flag: str) -> None:
    done = _run(flag)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("usage: ./run [demo|tests|bench] [args...]\n")
    for job in ("./run demo", "./run tests", "./run bench"):
        assert job in done.stdout


def test_unknown_job_prints_usage_and_exits_2() -> None:
    done = _run("test")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("./run: unknown job 'test'\nusage: ./run ")


def test_ci_runs_exactly_the_test_command() -> None:
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "exec ./run tests"
    assert all(c.startswith(("set ", "cd ")) for c in commands[:-1])


def test_tests_job_names_each_stage() -> None:
    """A user sees which stage of ``./run tests`` is running: one line per stage."""
    text = RUN.read_text()
    stages = [line.strip() for line in text.splitlines() if line.strip().startswith('say "tests [')]
    assert [s.split("]")[0] for s in stages] == [f'say "tests [{i}/5' for i in range(1, 6)]
    pytest_runs = [line for line in text.splitlines() if "-m pytest" in line]
    assert len(pytest_runs) == 2
    assert all(" -q" not in line for line in pytest_runs)  # pytest's per-file progress shows
