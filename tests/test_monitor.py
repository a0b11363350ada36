"""The GC monitor against the real collector: ``gclab monitor -- python prog.py`` on every local
interpreter from 3.8 and ``gclab.monitor()`` in-process.

The independent records are the program's own ``gc.callbacks`` entry and the interpreter's
``gc.get_stats()`` counters; the percentiles are checked against numpy's nearest-rank method
(``inverted_cdf``); the Prometheus text is parsed back with prometheus-client's parser; the
plot is read back as an image with matplotlib.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gclab
from gclab.errors import MonitorError
from gclab.snapshots.monitor import (
    GcEvents,
    gc_report,
    percentile,
    prometheus_text,
    read_events,
)
from gclab.snapshots.monitor_run import run_monitored

SRC = str(Path(__file__).resolve().parents[1] / "src")
VERSIONS = ("3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0")
INTERPRETERS = [pytest.param(f"/root/.pyenv/versions/{v}/bin/python", id=v,
                             marks=pytest.mark.skipif(
                                 not os.path.exists(f"/root/.pyenv/versions/{v}/bin/python"),
                                 reason=f"Python {v} is not installed"))
                for v in VERSIONS]

# A program that makes automatic collections of every generation (low thresholds, cycles of
# three objects, some kept alive) and one manual one, and records them itself: its own
# gc.callbacks entry and gc.get_stats() deltas over a window whose ends it timestamps.
PROGRAM = textwrap.dedent("""\
    import gc, json, sys, time
    own = [0, 0, 0]
    own_collected = [0, 0, 0]
    def record(phase, info):
        if phase == "stop":
            own[info["generation"]] += 1
            own_collected[info["generation"]] += info["collected"]
    gc.disable()
    before = gc.get_stats()
    gc.callbacks.append(record)
    t0 = time.perf_counter_ns()
    gc.enable()
    gc.set_threshold(50, 3, 4)
    class Node(object):
        pass
    keep = []
    for i in range(4000):
        a = Node(); b = Node(); c = Node()
        a.n = b; b.n = c; c.n = a
        if i % 5 == 0:
            keep.append(a)
    gc.collect(1)
    gc.disable()
    t1 = time.perf_counter_ns()
    gc.callbacks.remove(record)
    after = gc.get_stats()
    gc.enable()
    delta = [after[g]["collections"] - before[g]["collections"] for g in range(3)]
    delta_collected = [after[g]["collected"] - before[g]["collected"] for g in range(3)]
    with open(sys.argv[1], "w") as out:
        json.dump({"own": own, "own_collected": own_collected, "delta": delta,
                   "delta_collected": delta_collected, "t0": t0, "t1": t1}, out)
""")


def _program(tmp_path: Path) -> tuple[Path, Path]:
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    return program, tmp_path / "own.json"


def _window(events: GcEvents, t0: int, t1: int) -> tuple[list[int], list[int]]:
    """Collections and objects collected per generation that started within [t0, t1]."""
    start = events.start_ns + int(events.meta["begin_ns"])
    inside = (start >= t0) & (start <= t1)
    counts = [int(np.count_nonzero(inside & (events.generation == g))) for g in range(3)]
    collected = [int(events.collected[inside & (events.generation == g)].sum())
                 for g in range(3)]
    return counts, collected


@pytest.mark.parametrize("python", INTERPRETERS)
def test_monitor_counts_every_collection_of_a_real_interpreter(python: str,
                                                               tmp_path: Path) -> None:
    program, own_file = _program(tmp_path)
    run = run_monitored([python, str(program), str(own_file)], timeout=120)
    assert run.returncode == 0
    own = json.loads(own_file.read_text())
    events = run.events
    counts, collected = _window(events, own["t0"], own["t1"])
    # the program's own callback and the interpreter's counters agree with the monitor
    assert counts == own["own"] == own["delta"]
    assert collected == own["own_collected"] == own["delta_collected"]
    assert own["own"][0] > 10 and own["own"][1] > 2 and own["own"][2] >= 1
    # over the whole run: the recorder's events equal the interpreter's counters from the
    # bootstrap's start to the events file's writing
    before, after = events.meta["stats_before"], events.meta["stats_after"]
    report = gc_report(events)
    for g in range(3):
        assert report.stats(g).collections == after[g]["collections"] - before[g]["collections"]
        assert np.count_nonzero(events.generation == g) == report.stats(g).collections
        assert report.stats(g).collected == after[g]["collected"] - before[g]["collected"]
    assert events.meta["python"] == python.split("/")[-3]
    assert (events.pause_ns > 0).all() and np.all(np.diff(events.start_ns) > 0)


def test_cli_writes_json_prometheus_and_a_png(tmp_path: Path) -> None:
    program, own_file = _program(tmp_path)
    prom, plot, full = tmp_path / "gc.prom", tmp_path / "gc.png", tmp_path / "gc.json"
    done = subprocess.run(
        [sys.executable, "-m", "gclab", "monitor", "--json", "--prometheus", str(prom),
         "--plot", str(plot), "-o", str(full), "--", sys.executable, str(program),
         str(own_file)],
        env=dict(os.environ, PYTHONPATH=SRC), capture_output=True, text=True, timeout=300,
        check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    report = json.loads(full.read_text())
    own = json.loads(own_file.read_text())
    per_generation = [g["collections"] for g in summary["generations"]]
    events = np.array(report["events"]["generation"])
    assert per_generation == [int(np.count_nonzero(events == g)) for g in range(3)]
    assert all(n >= o for n, o in zip(per_generation, own["own"], strict=True))
    assert summary["returncode"] == 0 and "events" not in summary

    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    totals = {s.labels["generation"]: s.value
              for s in families["python_gc_collections"].samples}
    assert totals == {str(g): float(n) for g, n in enumerate(per_generation)}
    histogram = families["python_gc_duration_seconds"]
    counts = {s.labels["generation"]: s.value for s in histogram.samples
              if s.name == "python_gc_duration_seconds_count"}
    assert counts == totals
    pauses = np.array(report["events"]["pause_ns"])
    p99 = {s.labels["generation"]: s.value
           for s in families["gclab_gc_pause_quantile_seconds"].samples
           if s.labels["quantile"] == "0.99"}
    for g in range(3):
        mine = pauses[events == g]
        assert p99[str(g)] == pytest.approx(
            np.percentile(mine, 99, method="inverted_cdf") / 1e9 if mine.size else 0.0)

    import matplotlib.image

    image = matplotlib.image.imread(plot)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 500
    assert image.std() > 0.01           # something is drawn


def test_report_percentiles_are_numpys_nearest_rank() -> None:
    with gclab.monitor() as mon:
        keep = []
        for i in range(30000):
            node: list[object] = [i]
            node.append(node)
            if i % 3 == 0:
                keep.append(node)
        gc.collect()
    report = mon.report()
    events = report.events
    for stats in report.generations:
        pauses = events.pause_ns[events.generation == stats.generation]
        if not pauses.size:
            continue
        for q in (50, 95, 99):
            expected = np.percentile(pauses, q, method="inverted_cdf")
            assert getattr(stats, f"pause_p{q}_ns") == int(expected)
        assert stats.pause_max_ns == pauses.max()
    assert report.gc_share == pytest.approx(events.pause_ns.sum() / report.wall_ns)
    assert report.per_minute == pytest.approx(len(events) / (report.wall_ns / 60e9))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=300),
       st.floats(min_value=0.01, max_value=100.0))
def test_percentile_is_inverted_cdf(values: list[int], q: float) -> None:
    assert percentile(values, q) == int(np.percentile(values, q, method="inverted_cdf"))


def test_in_process_monitor_agrees_with_own_callback_and_stats() -> None:
    own = [0, 0, 0]

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            own[info["generation"]] += 1

    threshold = gc.get_threshold()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with gclab.monitor() as mon:
            before = gc.get_stats()
            gc.callbacks.append(record)
            gc.set_threshold(60, 4, 4)
            gc.enable()
            keep = []
            for i in range(6000):
                a: list[object] = []
                b: list[object] = [a]
                a.append(b)
                if i % 4 == 0:
                    keep.append(a)
            gc.collect(0)
            gc.collect(2)
            gc.disable()
            gc.callbacks.remove(record)
            after = gc.get_stats()
    finally:
        gc.set_threshold(*threshold)
        if was_enabled:
            gc.enable()
    report = mon.report()
    delta = [after[g]["collections"] - before[g]["collections"] for g in range(3)]
    assert [report.stats(g).collections for g in range(3)] == own == delta
    assert own[0] > 10 and own[2] >= 1
    assert record not in gc.callbacks and mon.recorder.callback not in gc.callbacks


def test_max_events_keeps_exact_totals() -> None:
    with gclab.monitor(max_events=3) as mon:
        for _ in range(5):
            gc.collect(0)
    report = mon.report()
    assert len(report.events) == 3 and report.events.dropped == 2
    assert report.stats(0).collections == 5


def test_periodic_file_survives_a_kill(tmp_path: Path) -> None:
    """A program that never exits normally: --every writes what it has so far."""
    program = tmp_path / "loop.py"
    program.write_text("import gc, os, time\n"
                       "for _ in range(3):\n    gc.collect()\n"
                       "time.sleep(1.0)\nos._exit(0)\n")
    run = run_monitored([sys.executable, str(program)], every=0.2, timeout=60)
    assert run.returncode == 0
    assert report_count(run.events, 2) >= 3


def report_count(events: GcEvents, generation: int) -> int:
    return gc_report(events).stats(generation).collections


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MonitorError, match="no command"):
        run_monitored([])
    with pytest.raises(MonitorError, match="cannot run"):
        run_monitored([str(tmp_path / "missing")], timeout=10)
    with pytest.raises(MonitorError, match="wrote no GC events"):
        run_monitored(["/bin/true"], timeout=10)
    with pytest.raises(MonitorError, match="-S"):
        run_monitored([sys.executable, "-S", "-c", "pass"], timeout=30)
    with pytest.raises(MonitorError, match="percentile"):
        percentile([1], 0)
    with pytest.raises(MonitorError, match="max_events"):
        gclab.monitor(max_events=-1)
    with pytest.raises(MonitorError, match=r"png or \.svg"):
        from gclab.viz.gc_timeline import plot_timeline
        with gclab.monitor() as mon:
            pass
        plot_timeline(mon.report(), tmp_path / "x.jpg")
    assert not (tmp_path / "x.jpg").exists()


def _events_file(tmp_path: Path) -> Path:
    path = tmp_path / "ev.gcmon"
    with gclab.monitor() as mon:
        gc.collect(0)
        gc.collect(1)
    mon.recorder.dump(str(path))
    return path


def test_events_file_round_trip_and_corruption(tmp_path: Path) -> None:
    path = _events_file(tmp_path)
    events = read_events(path)
    assert events.generation.tolist() == [0, 1]
    data = path.read_bytes()
    (tmp_path / "short").write_bytes(data[:-3])
    with pytest.raises(MonitorError, match="truncated"):
        read_events(tmp_path / "short")
    flipped = bytearray(data)
    flipped[-1] ^= 0xFF
    (tmp_path / "flip").write_bytes(bytes(flipped))
    with pytest.raises(MonitorError, match="checksum"):
        read_events(tmp_path / "flip")
    (tmp_path / "v9").write_bytes(data.replace(b'"version": 1', b'"version": 9'))
    with pytest.raises(MonitorError, match="version 9"):
        read_events(tmp_path / "v9")
    (tmp_path / "other").write_bytes(b"PAR1 not ours")
    with pytest.raises(MonitorError, match="not a gclab GC events file"):
        read_events(tmp_path / "other")
    with pytest.raises(MonitorError, match="cannot read"):
        read_events(tmp_path / "absent")


def test_prometheus_text_parses_for_an_empty_report(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    with gclab.monitor() as mon:
        pass
    text = prometheus_text(mon.report())
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"python_gc_collections", "python_gc_duration_seconds",
            "gclab_gc_time_ratio"} <= names


def test_bootstrap_chains_a_shadowed_sitecustomize_and_skips_children(tmp_path: Path) -> None:
    """The program's own sitecustomize still runs; a child Python is not monitored into the
    same file (the bootstrap removed its variables)."""
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import builtins\nbuiltins.THEIRS = 1\n")
    program = tmp_path / "p.py"
    program.write_text(
        "import builtins, gc, os, subprocess, sys\n"
        "assert builtins.THEIRS == 1\n"
        "assert 'GCLAB_MONITOR_OUT' not in os.environ\n"
        "gc.collect(1)\n"
        "subprocess.run([sys.executable, '-c', 'import gc; gc.collect(1); gc.collect(1)'],"
        " check=True, timeout=60)\n")
    env_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(theirs)
    try:
        run = run_monitored([sys.executable, str(program)], timeout=120)
    finally:
        if env_path is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = env_path
    assert run.returncode == 0
    assert report_count(run.events, 1) == 1


def _gclab(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gclab", *args],
                          env=dict(os.environ, PYTHONPATH=SRC), capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_cli_help_shows_examples() -> None:
    done = _gclab("monitor", "--help")
    assert done.returncode == 0 and done.stderr == ""
    assert "examples:\n  gclab monitor -- python myservice.py" in done.stdout
    for option in ("--json", "--prometheus FILE", "--plot FILE", "--every SECONDS", "-o FILE"):
        assert option in done.stdout


def test_cli_bad_input_exits_2_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    program = [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]
    done = _gclab("monitor", "--plot", str(tmp_path / "gc.jpg"), "--", *program)
    assert done.returncode == 2 and "png or .svg" in done.stderr and not marker.exists()
    done = _gclab("monitor", "--from", str(tmp_path / "x.gcmon"), "--", *program)
    assert done.returncode == 2 and "not both" in done.stderr and not marker.exists()
    done = _gclab("monitor", "--from", str(tmp_path / "missing.gcmon"))
    assert done.returncode == 2 and "cannot read the GC events file" in done.stderr
    done = _gclab("monitor")
    assert done.returncode == 2 and "no command to monitor" in done.stderr


def test_cli_exit_status_events_file_and_from(tmp_path: Path) -> None:
    events = tmp_path / "run.gcmon"
    done = _gclab("monitor", "--events", str(events), "--", sys.executable, "-c",
                  "import gc, sys; gc.collect(0); gc.collect(0); sys.exit(3)")
    assert done.returncode == 3, done.stderr
    assert "exit status 3" in done.stdout
    again = _gclab("monitor", "--from", str(events), "--json")
    assert again.returncode == 0
    summary = json.loads(again.stdout)
    assert summary["generations"][0]["collections"] >= 2 and summary["returncode"] is None


def test_timeout_works_when_gclab_itself_ignores_sigint(tmp_path: Path) -> None:
    """A shell starts background jobs (nohup ones too) with SIGINT ignored and children inherit
    that: the monitored program must still be stoppable by the timeout's SIGINT."""
    program = tmp_path / "forever.py"
    program.write_text("import gc, time\ngc.collect(1)\nwhile True:\n    time.sleep(0.05)\n")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run = run_monitored([sys.executable, str(program)], timeout=10)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert run.timed_out
    assert report_count(run.events, 1) == 1


def test_timeout_stops_the_program_so_that_it_writes_its_events(tmp_path: Path) -> None:
    program = tmp_path / "forever.py"
    program.write_text("import gc, time\ngc.collect(1)\nprint('ready', flush=True)\n"
                       "while True:\n    time.sleep(0.05)\n")
    # the timeout counts from the start: leave time for the interpreter to start and install
    # the monitor even on a loaded machine (a SIGINT during site's start-up is swallowed there)
    run = run_monitored([sys.executable, str(program)], timeout=10)
    assert run.timed_out
    assert run.returncode != 0                 # KeyboardInterrupt
    assert report_count(run.events, 1) == 1
