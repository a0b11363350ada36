"""``gclab monitor -- cmd args…``: the real collector's pauses in a Python program."""

from __future__ import annotations

import argparse
import json
import sys

from .common import Command, emit_json

_DESCRIPTION = """\
Run a Python program and record every collection its collector makes, through
gc.callbacks: the generation, the pause, the objects collected and found
uncollectable. Then report the share of wall time spent in GC, the pause
p50/p95/p99/max per generation (nearest-rank) and collections per minute.

The program needs nothing installed: a standard-library-only sitecustomize.py
(Python 3.8+) is put first on its PYTHONPATH and writes the events when the
program exits (or every --every seconds, for a service that is killed). The
exit status is the program's."""

_EPILOG = """\
examples:
  gclab monitor -- python myservice.py --port 8000
  gclab monitor --plot gc.png --prometheus gc.prom -- python batch.py
  gclab monitor --json -- python -m pytest tests/     (the JSON summary comes last)
  gclab monitor --events run.gcmon --every 10 -- python service.py
  gclab monitor --from run.gcmon --plot gc.svg         (report a saved events file)

--json prints {"wall_ns", "gc_ns", "gc_share", "collections", "per_minute",
"dropped", "generations": [{"generation", "collections", "pause_p50_ns", ...}],
"process": {...}, "returncode"}; -o FILE writes the same plus the per-collection
arrays under "events". --prometheus writes Prometheus' text exposition
(python_gc_collections_total, python_gc_duration_seconds histogram, ...)."""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- cmd args",
                        help="the command to run (a Python 3.8+ program)")
    parser.add_argument("--json", action="store_true",
                        help="print the summary as one compact JSON object")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the full report (summary and every collection) as JSON")
    parser.add_argument("--prometheus", metavar="FILE",
                        help="write the metrics in Prometheus' text exposition format")
    parser.add_argument("--plot", metavar="FILE",
                        help="draw the pause timeline and histogram (.png or .svg)")
    parser.add_argument("--every", type=float, metavar="SECONDS",
                        help="also write the events every SECONDS while the program runs")
    parser.add_argument("--events", metavar="FILE",
                        help="keep the raw events file (for --from) instead of a temporary one")
    parser.add_argument("--from", dest="source", metavar="FILE",
                        help="report a saved events file instead of running a command")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="stop the program after SECONDS (SIGINT, so its events are "
                             "written; then SIGTERM, SIGKILL)")
    parser.add_argument("--max-events", type=int, metavar="N",
                        help="keep at most N collections one by one (default 1000000); "
                             "totals stay exact")


def _print_text(report: object, returncode: int | None, argv: list[str]) -> None:
    """The summary as a readable table on stdout."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from ..snapshots.monitor import GcReport

    assert isinstance(report, GcReport)
    meta = report.events.meta
    console = Console(highlight=False, soft_wrap=True,
                      width=None if sys.stdout.isatty() else 120)
    status = "" if returncode is None else f", exit status {returncode}"
    console.print(f"gclab monitor: {' '.join(argv) or meta.get('argv', '')} "
                  f"(pid {meta.get('pid', '?')}, Python {meta.get('python', '?')}){status}")
    console.print(f"wall time {report.wall_ns / 1e9:.3f} s, {report.collections} collections "
                  f"({report.per_minute:,.0f}/min), {report.gc_ns / 1e6:.3f} ms in GC = "
                  f"{report.gc_share:.2%} of wall time")
    if report.events.dropped:
        console.print(f"{report.events.dropped} collections past --max-events are in the "
                      f"totals only (not in the percentiles)")
    table = Table(box=box.SIMPLE_HEAD, title_justify="left", title="pauses in ms, per generation")
    for column in ("gen", "count", "per min", "p50", "p95", "p99", "max", "total",
                  "collected", "uncollectable"):
        table.add_column(column, justify="right")
    for g in report.generations:
        table.add_row(str(g.generation), str(g.collections), f"{g.per_minute:,.0f}",
                      *(f"{v / 1e6:.3f}" for v in (g.pause_p50_ns, g.pause_p95_ns,
                                                   g.pause_p99_ns, g.pause_max_ns,
                                                   g.pause_total_ns)),
                      str(g.collected), str(g.uncollectable))
    console.print(table)


def _summary(report: object, returncode: int | None) -> dict[str, object]:
    from ..snapshots.monitor import GcReport

    assert isinstance(report, GcReport)
    data = report.to_json()
    data["returncode"] = returncode
    return data


def _run(args: argparse.Namespace) -> int:
    from ..errors import MonitorError
    from ..snapshots.monitor import gc_report, prometheus_text, read_events
    from ..snapshots.monitor_run import run_monitored

    argv = list(args.argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if args.plot and not args.plot.lower().endswith((".png", ".svg")):
        raise MonitorError(f"--plot writes .png or .svg, not {args.plot!r}")
    returncode: int | None = None
    if args.source:
        if argv:
            raise MonitorError("give either --from FILE or a command, not both")
        events = read_events(args.source)
    else:
        run = run_monitored(argv, every=args.every, timeout=args.timeout,
                            events_path=args.events, max_events=args.max_events,
                            progress=lambda line: print(line, file=sys.stderr, flush=True))
        events, returncode = run.events, run.returncode
    report = gc_report(events)
    full = _summary(report, returncode)
    summary = {k: v for k, v in full.items() if k != "events"}
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            json.dump(full, out, separators=(",", ":"), sort_keys=True)
            out.write("\n")
    if args.prometheus:
        with open(args.prometheus, "w", encoding="utf-8") as out:
            out.write(prometheus_text(report))
    if args.plot:
        from ..viz.gc_timeline import plot_timeline

        plot_timeline(report, args.plot)
    if args.json:
        emit_json(summary)
    else:
        _print_text(report, returncode, argv)
    if returncode is None:
        return 0
    return 128 - returncode if returncode < 0 else returncode   # killed by a signal: 128+N


COMMAND = Command("monitor", "the real collector's pauses in a Python program (gc.callbacks)",
                  _add_arguments, _run, description=_DESCRIPTION, epilog=_EPILOG, order=80)
