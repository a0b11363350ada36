"""Start-up: how long a fresh process waits before gclab answers (issue #10, part 5).

Usage::

    .venv/bin/python bench/startup.py                  # cold and warm, 5 runs each
    .venv/bin/python bench/startup.py --repeat 7 --modes warm --cases tiny,demo
    .venv/bin/python bench/startup.py --src ../other-checkout/src/gclab   # another version

Every run is a fresh child process. ``cold`` runs import a fresh copy of ``src/gclab`` (no
``__pycache__``: neither Python's bytecode nor numba's cache, as on a fresh clone); ``warm``
runs share one copy, warmed by one unmeasured run of each case first. Cases:

* ``tiny``: ``import gclab``; a first small heap with a list cycle and a two-dict cycle,
  ``heap.gc.collect()`` (the README's first example); times of each part, and whether numba
  was imported;
* ``demo``: ``gclab demo`` until its first output line (the process exits there), from spawn;
  whether numba was imported by then;
* ``switch``: ``tiny`` with ``GCLAB_JIT_MIN=0`` (compiled from the first call, as before lazy
  kernels): the compile step a heap pays when it grows past the threshold;
* ``cpython``: the tiny program on real objects (``sys.executable``, ``gc.collect()``).

Reported: the median and [min-max] of each time over ``--repeat`` runs, in seconds; ``wall``
is from spawning the child to its exit (interpreter start-up included). Not part of the test
suite; nothing here asserts. The machine may be shared: read the ranges.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "gclab"
CASES = ("tiny", "demo", "switch", "cpython")
MODES = ("cold", "warm")
TIMEOUT = 600  # seconds per child (a cold compile takes ~10 s on a loaded machine)

TINY = """
import sys, time, json
t0 = time.perf_counter()
import gclab
t1 = time.perf_counter()
heap = gclab.Heap()
lst = heap.list(); lst.append(lst)
a = heap.dict(); b = heap.dict()
a["b"] = b; b["a"] = a
del lst, a, b
collected = heap.gc.collect()
t2 = time.perf_counter()
assert collected == 3, collected
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "in_process": t2 - t0,
                  "numba": "numba" in sys.modules, "file": gclab.__file__}))
"""

CPYTHON = """
import gc, sys, time, json
t0 = time.perf_counter()
lst = []; lst.append(lst)
a = {}; b = {}
a["b"] = b; b["a"] = a
del lst, a, b
collected = gc.collect()
t1 = time.perf_counter()
print(json.dumps({"first": t1 - t0, "in_process": t1 - t0, "collected": collected}))
"""

DEMO = """
import os, sys, json
class FirstLine:
    def __init__(self, out): self.out = out
    def write(self, text):
        self.out.write(text)
        if text.strip():
            self.out.flush()
            sys.stderr.write(json.dumps({"numba": "numba" in sys.modules}) + "\\n")
            sys.stderr.flush()
            os._exit(0)
        return len(text)
    def __getattr__(self, name): return getattr(self.out, name)
sys.stdout = FirstLine(sys.stdout)
from gclab.cli import main
main(["demo"])
"""


def fresh_copy(parent: Path, src: Path = SRC) -> Path:
    """A copy of the package ``src`` under ``parent`` without any ``__pycache__``; returns the
    directory to put on PYTHONPATH."""
    root = parent / "src"
    shutil.copytree(src, root / "gclab", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def run_case(case: str, path: Path) -> dict[str, object]:
    """One fresh child running ``case`` with gclab from ``path``: its report plus ``wall``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GCLAB_JIT", "GCLAB_JIT_MIN", "NUMBA_CACHE_DIR")}
    env["PYTHONPATH"] = str(path)
    code = {"tiny": TINY, "switch": TINY, "demo": DEMO, "cpython": CPYTHON}[case]
    if case == "switch":
        env["GCLAB_JIT_MIN"] = "0"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{case}: exit {done.returncode}\n{done.stderr}")
    stream = done.stderr if case == "demo" else done.stdout
    report: dict[str, object] = json.loads(stream.strip().splitlines()[-1])
    if "file" in report and not str(report["file"]).startswith(str(path)):
        raise RuntimeError(f"{case}: imported gclab from {report['file']}, not {path}")
    report["wall"] = wall
    return report


def summary(values: list[float]) -> str:
    """Median [min-max] in seconds."""
    return f"{statistics.median(values):7.3f} [{min(values):.3f}-{max(values):.3f}]"


def measure(mode: str, cases: list[str], repeat: int,
            src: Path = SRC) -> dict[str, list[dict[str, object]]]:
    """``repeat`` runs of each case in ``mode`` with the package ``src``: the reports, by
    case."""
    results: dict[str, list[dict[str, object]]] = {case: [] for case in cases}
    with tempfile.TemporaryDirectory(prefix="gclab-startup-") as tmp:
        shared = fresh_copy(Path(tmp) / "warm", src) if mode == "warm" else None
        if shared is not None:
            for case in cases:  # the unmeasured warm-up: bytecode and numba caches filled
                run_case(case, shared)
        for i in range(repeat):
            for case in cases:
                path = (shared if shared is not None
                        else fresh_copy(Path(tmp) / f"{case}{i}", src))
                results[case].append(run_case(case, path))
    return results


def report(mode: str, results: dict[str, list[dict[str, object]]]) -> None:
    """Print one line per case and measured part."""
    for case, runs in results.items():
        parts = [key for key in ("import", "first", "in_process", "wall") if key in runs[0]]
        for part in parts:
            values = [float(run[part]) for run in runs]  # type: ignore[arg-type]
            print(f"  {mode:4} {case:8} {part:10} {summary(values)}")
        if "numba" in runs[0]:
            flags = sorted({bool(run["numba"]) for run in runs})
            when = "by the first output line" if case == "demo" else "after the collection"
            print(f"  {mode:4} {case:8} numba imported {when}: {flags}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated, from: {', '.join(CASES)}")
    parser.add_argument("--modes", default=",".join(MODES),
                        help=f"comma-separated, from: {', '.join(MODES)}")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (default 5)")
    parser.add_argument("--src", type=Path, default=SRC,
                        help="the gclab package directory to copy and run (default: this tree's)")
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    modes = [m for m in args.modes.split(",") if m]
    unknown = sorted(set(cases) - set(CASES)) + sorted(set(modes) - set(MODES))
    if unknown or args.repeat < 1:
        parser.error(f"unknown cases/modes {unknown} or --repeat < 1")
    print(f"gclab start-up ({args.src}), fresh child processes, {sys.executable} "
          f"({sys.version.split()[0]}), {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}; "
          f"seconds, median [min-max] of {args.repeat}")
    for mode in modes:
        report(mode, measure(mode, cases, args.repeat, args.src.resolve()))


if __name__ == "__main__":
    main()
