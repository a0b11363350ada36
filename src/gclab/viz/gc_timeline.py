"""The GC pause timeline: a :class:`~gclab.snapshots.monitor.GcReport` as a PNG or SVG.

Two panels: the pauses over time (one marker per collection at its start, milliseconds,
coloured by generation, a logarithmic axis when pauses span decades) and a histogram of the
pauses per generation (logarithmic bins when they span decades) with the p50 (dashed) and
p99 (dotted) of each marked. Drawn on a bare
``matplotlib.figure.Figure`` (the Agg renderer; pyplot's global state is not touched).

>>> import gc, os, tempfile
>>> from gclab.snapshots.monitor import monitor
>>> with monitor() as mon:
...     _ = gc.collect(0)
>>> path = os.path.join(tempfile.mkdtemp(), "gc.png")
>>> plot_timeline(mon.report(), path) == path, open(path, "rb").read(4) == b"\\x89PNG"
(True, True)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from ..errors import MonitorError
from ..snapshots.monitor import GcReport

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: The picture formats, by file suffix.
FORMATS = {".png": "png", ".svg": "svg"}
#: One colour per generation (0, 1, 2, 3).
COLOURS = ("#4c78a8", "#f58518", "#e45756", "#72b7b2")


def plot_timeline(report: GcReport, path: str | os.PathLike[str], *,
                  title: str | None = None) -> str:
    """Draw ``report``'s pauses into ``path`` (``.png`` or ``.svg``); return the path.

    Afterwards the file holds the picture; a path of another suffix raises
    :class:`~gclab.errors.MonitorError` and writes nothing.
    """
    name = os.fspath(path)
    fmt = FORMATS.get(os.path.splitext(name)[1].lower())
    if fmt is None:
        raise MonitorError(f"the plot is written as .png or .svg, not {name!r}")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 6.5), layout="constrained")
    timeline, histogram = figure.subplots(2, 1, height_ratios=[3, 2])
    _draw_timeline(timeline, report)
    _draw_histogram(histogram, report)
    figure.suptitle(title or _title(report))
    figure.savefig(name, format=fmt, dpi=100)
    return name


def _title(report: GcReport) -> str:
    """A one-line summary: collections, wall time, share in GC, the process."""
    python = report.events.meta.get("python", "?")
    return (f"{report.collections} collections in {report.wall_ns / 1e9:.2f} s "
            f"({report.gc_share:.1%} of wall time in GC), Python {python}")


def _draw_timeline(axes: Axes, report: GcReport) -> None:
    """Afterwards ``axes`` shows each kept collection's pause (ms) at its start (s)."""
    ev = report.events
    pauses = ev.pause_ns / 1e6
    for g in report.generations:
        mask = ev.generation == g.generation
        if mask.any():
            axes.scatter(ev.start_ns[mask] / 1e9, pauses[mask], s=10,
                         color=COLOURS[g.generation], label=f"generation {g.generation}")
    positive = pauses[pauses > 0]
    if positive.size and positive.max() / positive.min() > 100:
        axes.set_yscale("log")
    axes.set_xlim(0, max(report.wall_ns / 1e9, 1e-6))
    axes.set_xlabel("time since the monitor started (s)")
    axes.set_ylabel("pause (ms)")
    axes.grid(alpha=0.3)
    if len(ev):
        axes.legend(loc="upper right")
    else:
        axes.text(0.5, 0.5, "no collections recorded", ha="center",
                  transform=axes.transAxes)


def _draw_histogram(axes: Axes, report: GcReport) -> None:
    """Afterwards ``axes`` shows the pauses' distribution per generation, p50/p99 marked."""
    ev = report.events
    pauses = ev.pause_ns / 1e6
    if not len(ev):
        axes.set_axis_off()
        return
    count = min(50, max(5, len(ev) // 4))
    low, high = float(pauses.min()), float(pauses.max())
    logarithmic = low > 0 and high / low > 100
    if logarithmic:
        bins = np.geomspace(low, high, count + 1).tolist()
        axes.set_xscale("log")
    else:
        bins = np.histogram_bin_edges(pauses, bins=count).tolist()
    for g in report.generations:
        mask = ev.generation == g.generation
        if not mask.any():
            continue
        colour = COLOURS[g.generation]
        axes.hist(pauses[mask], bins=bins, alpha=0.6, color=colour,
                  label=f"gen {g.generation}: p50 {g.pause_p50_ns / 1e6:.3f} ms, "
                        f"p99 {g.pause_p99_ns / 1e6:.3f} ms, max {g.pause_max_ns / 1e6:.3f} ms")
        for value, style in ((g.pause_p50_ns, "--"), (g.pause_p99_ns, ":")):
            axes.axvline(value / 1e6, color=colour, linestyle=style)
    axes.set_xlabel("pause (ms)")
    axes.set_ylabel("collections")
    axes.legend(loc="upper right", fontsize="small")
