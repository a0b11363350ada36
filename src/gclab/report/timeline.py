"""The GC pause timeline in the report: a GC monitor's JSON (``gclab monitor --json`` / ``-o``,
``docs/design/monitor.md``) read, checked and reduced to what the page draws.

>>> line = timeline_from_monitor({"events": [
...     {"generation": 0, "start": 1.0, "duration": 0.002},
...     {"generation": 2, "start": 1.5, "duration": 0.010}]}, Limits())
>>> line["events"], line["stats"]["2"]["max"]
([[0.0, 0, 2.0, 0, 0], [0.5, 2, 10.0, 0, 0]], 10.0)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .model import Limits, ReportInputError

# -- the GC monitor -------------------------------------------------------------------------

def read_monitor(path: str | Path) -> dict[str, Any]:
    """The GC monitor's JSON file at ``path`` (``gclab monitor --json`` / ``-o``), checked to
    hold events; :class:`ReportInputError` names the file and what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ReportInputError(f"monitor file {path}: cannot read it as JSON ({error})") from None
    if not isinstance(data, dict):
        raise ReportInputError(f"monitor file {path}: not a GC monitor's JSON (an object "
                               f"with events)")
    try:
        timeline_from_monitor(data, Limits())
    except ReportInputError as error:
        raise ReportInputError(f"monitor file {path}: {error}") from None
    return data


def timeline_from_monitor(data: Mapping[str, Any], limits: Limits) -> dict[str, Any]:
    """The pause timeline of a GC monitor's result: events ``[seconds from the first start,
    generation, pause ms, collected, uncollectable]`` (thinned to ``limits.events``, the
    longest pauses always kept) and per generation the count and the pause p50/p95/p99/max
    in ms over every event.

    ``data["events"]`` is a list of per-collection dicts or a dict of columns; times are
    ``start``/``stop``/``duration``/``pause`` in seconds or ``start_ns``/``stop_ns``/
    ``duration_ns`` in nanoseconds.
    """
    columns = _event_columns(data.get("events"))
    generation = columns["generation"]
    start, pause = columns["start"], columns["pause"]
    t0 = float(start.min()) if len(start) else 0.0
    stats = {}
    for g in sorted(set(generation.tolist())):
        p = pause[generation == g] * 1e3
        stats[str(g)] = {"count": len(p), "total_ms": float(p.sum()),
                         **{f"p{q}": float(np.percentile(p, q)) for q in (50, 95, 99)},
                         "max": float(p.max())}
    keep = np.arange(len(start))
    if len(keep) > limits.events:
        longest = np.argsort(-pause, kind="stable")[:limits.events // 10]
        even = np.linspace(0, len(start) - 1, limits.events - len(longest)).astype(np.int64)
        keep = np.union1d(longest, even)
    events = [[round(float(start[i] - t0), 6), int(generation[i]),
               round(float(pause[i] * 1e3), 4), int(columns["collected"][i]),
               int(columns["uncollectable"][i])] for i in keep.tolist()]
    wall = data.get("wall_seconds", data.get("wall_time"))
    if isinstance(data.get("wall_ns"), (int, float)):
        wall = data["wall_ns"] * 1e-9
    span = float(wall) if isinstance(wall, (int, float)) and wall > 0 else (
        float((start + pause).max() - t0) if len(start) else 0.0)
    stats.update(_monitor_stats(data.get("generations")))
    return {"events": events, "shown": len(events), "total": len(start), "stats": stats,
            "wall_seconds": span, "gc_seconds": float(pause.sum()),
            "gc_share": float(pause.sum() / span) if span > 0 else None}


def _monitor_stats(generations: Any) -> dict[str, dict[str, Any]]:
    """The monitor's own statistics per generation (``GcReport.to_json()["generations"]``:
    exact counts even when events were dropped) in the report's units (ms)."""
    stats: dict[str, dict[str, Any]] = {}
    for row in generations if isinstance(generations, list) else []:
        try:
            stats[str(int(row["generation"]))] = {
                "count": int(row["collections"]), "total_ms": row["pause_total_ns"] / 1e6,
                "p50": row["pause_p50_ns"] / 1e6, "p95": row["pause_p95_ns"] / 1e6,
                "p99": row["pause_p99_ns"] / 1e6, "max": row["pause_max_ns"] / 1e6}
        except (KeyError, TypeError, ValueError):
            raise ReportInputError("'generations' rows lack the monitor's statistics") from None
    return stats


def _event_columns(events: Any) -> dict[str, np.ndarray]:
    """Events as float columns ``generation``, ``start``, ``pause`` (seconds), ``collected``,
    ``uncollectable``; :class:`ReportInputError` when they are missing or malformed."""
    if isinstance(events, list):
        if not all(isinstance(e, Mapping) for e in events):
            raise ReportInputError("events must be objects (one per collection)")
        keys = set().union(*[set(e) for e in events]) if events else set()
        raw = {k: [e.get(k) for e in events] for k in keys}
    elif isinstance(events, Mapping):
        raw = dict(events)
    else:
        raise ReportInputError("no 'events' (a list of collections or a dict of columns)")

    def column(*names: str, scale: float = 1.0, default: float | None = None) -> np.ndarray:
        for name in names:
            if name in raw:
                try:
                    values = np.asarray(raw[name], dtype=np.float64)
                except (TypeError, ValueError):
                    raise ReportInputError(f"event column {name} is not numbers") from None
                return values * scale
        if default is None:
            raise ReportInputError(f"events have no {' or '.join(names)}")
        return np.full(len(next(iter(raw.values()), [])), default)

    ns = 1e-9
    generation = column("generation", "gen")
    start = (column("start", "time") if "start" in raw or "time" in raw else
             column("start_ns", scale=ns))
    if "duration" in raw or "pause" in raw:
        pause = column("duration", "pause")
    elif "pause_ns" in raw or ("duration_ns" in raw and "stop_ns" not in raw):
        pause = column("pause_ns", "duration_ns", scale=ns)
    else:
        stop = column("stop", "stop_ns", scale=1.0 if "stop" in raw else ns)
        pause = stop - start
        if "duration_ns" in raw:       # the interpreter's own duration where it gave one
            given = column("duration_ns", scale=ns)
            pause = np.where(given >= 0, given, pause)
    lengths = {len(generation), len(start), len(pause)}
    if len(lengths) != 1 or not np.isfinite(pause).all() or (pause < 0).any():
        raise ReportInputError("event columns differ in length or hold negative pauses")
    return {"generation": generation.astype(np.int64), "start": start, "pause": pause,
            "collected": column("collected", default=0).astype(np.int64),
            "uncollectable": column("uncollectable", default=0).astype(np.int64)}


__all__ = ["read_monitor", "timeline_from_monitor"]
