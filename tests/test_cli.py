"""The command line as users run it: ``python -m gclab`` and the ``gclab`` script, in a child
process each, against the gclab tree these tests import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import gclab
from gclab.cli import main
from gclab.demo import record_demo

PACKAGE = Path(gclab.__file__).resolve().parent
ROOT = PACKAGE.parents[1]  # the checkout: src/gclab -> .


def _env() -> dict[str, str]:
    """The environment for a child: this tree's gclab first on its path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE.parent),
                                                      env.get("PYTHONPATH")]))
    return env


def _gclab(*args: str, command: tuple[str, ...] = (sys.executable, "-m", "gclab")
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], capture_output=True, text=True, env=_env(),
                          timeout=300, check=False)


def test_version() -> None:
    done = _gclab("--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"gclab {gclab.__version__}\n", "")


def test_version_is_the_distribution_version() -> None:
    pyproject = ROOT / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("not run from a checkout")
    with pyproject.open("rb") as f:
        assert tomllib.load(f)["project"]["version"] == gclab.__version__


@pytest.mark.parametrize("args", [("--help",), ("demo", "--help")])
def test_help_is_plain_and_shows_an_example(args: tuple[str, ...]) -> None:
    done = _gclab(*args)
    assert (done.returncode, done.stderr) == (0, "")
    text = done.stdout
    assert text.startswith(f"usage: gclab {'demo ' if args[0] == 'demo' else ''}[-h]")
    assert "examples:\n  gclab demo" in text
    for word in ["[bold", "[/", "#7", "issue", "proxy", "kernel", "oracle", "safe point",
                 "spec", "``"]:
        assert word not in text, word
    if args[0] == "demo":
        words = " ".join(text.split())
        assert "--profile VERSION" in words and "2.7, 3.10, 3.11, 3.12, 3.13" in words
        assert "--json" in text
    else:
        assert "demo" in text and "--version" in text


@pytest.mark.parametrize(("args", "message"), [
    ((), "the following arguments are required: COMMAND"),
    (("tour",), "invalid choice: 'tour'"),
    (("demo", "--profile", "9.9"), "argument --profile: invalid choice: '9.9'"),
    (("demo", "--color"), "unrecognized arguments: --color"),
])
def test_wrong_arguments_exit_2(args: tuple[str, ...], message: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gclab") and message in err


def test_demo_json_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--profile", "2.7", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out) == record_demo("2.7")


def test_wrong_arguments_from_the_command_line() -> None:
    done = _gclab("demo", "--profile", "2.6")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "gclab demo: error: argument --profile: invalid choice: '2.6'" in done.stderr


def test_module_runs_the_demo() -> None:
    done = _gclab("demo", "--profile", "2.7")
    assert (done.returncode, done.stderr) == (0, "")
    assert "Finalizers in a cycle: uncollectable" in done.stdout


def test_json_from_the_command_line_is_the_record() -> None:
    """Two runs in two processes print the same bytes: one line, the demo's record."""
    first, second = _gclab("demo", "--json"), _gclab("demo", "--json")
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == second.stdout
    record = json.loads(first.stdout)
    assert record == record_demo("3.12")
    assert first.stdout == json.dumps(record, separators=(",", ":")) + "\n"  # compact


def test_closed_output_ends_quietly() -> None:
    """``gclab demo | head -1``: the reader goes away; no traceback, exit status 1."""
    child = subprocess.Popen([sys.executable, "-m", "gclab", "demo"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=_env())
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()
    err = child.stderr.read()
    assert (child.wait(timeout=300), err) == (1, b"")


def test_console_script() -> None:
    """The installed ``gclab`` script, when it runs this tree's gclab."""
    script = Path(sys.executable).with_name("gclab")
    if not script.is_file():
        pytest.skip("no gclab script next to this interpreter")
    probe = subprocess.run([sys.executable, "-c", "import gclab.cli; print(gclab.cli.__file__)"],
                           capture_output=True, text=True, env=_env(), timeout=120, check=True)
    if Path(probe.stdout.strip()).resolve() != PACKAGE / "cli.py":
        pytest.skip("the gclab script runs another tree's gclab")
    version = _gclab("--version", command=(str(script),))
    assert (version.returncode, version.stdout) == (0, f"gclab {gclab.__version__}\n")
    demo = _gclab("demo", "--profile", "3.13", "--json", command=(str(script),))
    assert demo.returncode == 0
    assert json.loads(demo.stdout) == record_demo("3.13")
