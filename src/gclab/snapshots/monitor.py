"""The real collector's pauses: ``gclab.monitor()`` and the events of ``gclab monitor -- cmd``.

The recording itself is :class:`~gclab.snapshots.monitor_agent.GcRecorder` (standard library
only, so that it also runs inside a monitored program of any Python from 3.8). This module
turns what it recorded into :class:`GcEvents` (flat numpy columns, read from the recorder or
from an events file) and :class:`GcReport`: the share of wall time spent in collections, pause
p50/p95/p99/max per generation, collections per minute, totals; as JSON (:meth:`GcReport.to_json`)
or Prometheus' text exposition (:func:`prometheus_text`). The timeline plot is in
:mod:`gclab.viz.gc_timeline`.

Percentiles are nearest-rank: the p-th percentile of ``k`` pauses is the ``ceil(p/100 * k)``-th
smallest, an observed pause (numpy's ``method="inverted_cdf"``).

>>> import gc
>>> with monitor() as mon:
...     _ = gc.collect(0)
...     _ = gc.collect(2)
>>> report = mon.report()
>>> [(g.generation, g.collections) for g in report.generations if g.collections]
[(0, 1), (2, 1)]
>>> report.collections, 0.0 <= report.gc_share <= 1.0
(2, True)
"""

from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import MonitorError
from . import monitor_agent
from .monitor_agent import COLUMNS, GENERATIONS, MAGIC, TOTALS, GcRecorder

Array = npt.NDArray[Any]

#: The percentiles every report gives, per generation.
PERCENTILES = (50, 95, 99)

_DTYPES = {"b": np.int8, "q": np.int64}


def percentile(values: Sequence[int] | Array, q: float) -> int:
    """The nearest-rank ``q``-th percentile of ``values`` (0 < q <= 100): the
    ``ceil(q/100 * k)``-th smallest of the ``k`` values; 0 when there are none.

    >>> percentile([15, 20, 35, 40, 50], 30), percentile([15, 20, 35, 40, 50], 40)
    (20, 20)
    >>> percentile([15, 20, 35, 40, 50], 100), percentile([], 50)
    (50, 0)
    """
    if not 0 < q <= 100:
        raise MonitorError(f"a percentile is in (0, 100], not {q!r}")
    data = np.asarray(values, dtype=np.int64)
    if data.size == 0:
        return 0
    rank = max(1, math.ceil(q / 100.0 * data.size - 1e-9))
    return int(np.partition(data, rank - 1)[rank - 1])


@dataclass(frozen=True, eq=False)
class GcEvents:
    """What a recorder saw: one row per collection, times relative to the recording's start.

    ``generation`` (int8), ``start_ns`` (ns since ``begin``), ``pause_ns`` (the interpreter's
    ``duration`` when it reports one, else the time from "start" to "stop"), ``collected``,
    ``uncollectable``, ``candidates`` (-1 unknown): int64. ``wall_ns`` is the recorded
    interval's length; ``totals`` the recorder's exact per-generation totals (``total_count``,
    ``total_pause_ns``, ``total_collected``, ``total_uncollectable``, 4 entries each) which
    also count ``dropped`` events; ``meta`` the process's facts from the header.
    """

    generation: Array
    start_ns: Array
    pause_ns: Array
    collected: Array
    uncollectable: Array
    candidates: Array
    wall_ns: int
    totals: Mapping[str, Array]
    dropped: int = 0
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.generation)

    @classmethod
    def from_columns(cls, columns: Mapping[str, Array], header: Mapping[str, Any]) -> GcEvents:
        """Events from the recorder's raw columns (absolute ``perf_counter_ns`` times) and
        its header (``begin_ns``, ``end_ns``, ``totals``, ``dropped``)."""
        begin = int(header["begin_ns"])
        start = np.asarray(columns["start_ns"], dtype=np.int64)
        stop = np.asarray(columns["stop_ns"], dtype=np.int64)
        duration = np.asarray(columns["duration_ns"], dtype=np.int64)
        pause = np.where(duration >= 0, duration, stop - start)
        totals = {name: np.asarray(header["totals"][name], dtype=np.int64)
                  for name, _ in TOTALS}
        meta = {k: v for k, v in header.items() if k not in ("totals", "columns", "crc32")}
        return cls(generation=np.asarray(columns["generation"], dtype=np.int8),
                   start_ns=start - begin, pause_ns=pause,
                   collected=np.asarray(columns["collected"], dtype=np.int64),
                   uncollectable=np.asarray(columns["uncollectable"], dtype=np.int64),
                   candidates=np.asarray(columns["candidates"], dtype=np.int64),
                   wall_ns=max(0, int(header["end_ns"]) - begin), totals=totals,
                   dropped=int(header.get("dropped", 0)), meta=meta)

    @classmethod
    def from_recorder(cls, recorder: GcRecorder) -> GcEvents:
        """The events ``recorder`` has kept so far (a copy: recording may go on)."""
        header, blobs = recorder.payload()
        return cls.from_columns(_decode(header, blobs, "the recorder"), header)


def _decode(header: Mapping[str, Any], blobs: Sequence[bytes], where: str) -> dict[str, Array]:
    """The header's columns as numpy arrays (native order), checked against it."""
    rows = int(header["rows"])
    columns = {}
    for (name, code, itemsize), blob in zip(header["columns"], blobs, strict=True):
        dtype = np.dtype(_DTYPES[code]).newbyteorder("<" if header["byteorder"] == "little"
                                                     else ">")
        if dtype.itemsize != itemsize or len(blob) != rows * itemsize:
            raise MonitorError(f"{where}: column {name} has {len(blob)} bytes, "
                               f"not {rows} rows of {itemsize}")
        columns[name] = np.frombuffer(blob, dtype=dtype).astype(_DTYPES[code])
    return columns


def read_events(path: str | os.PathLike[str]) -> GcEvents:
    """The events file that a recorder wrote at ``path`` (``GcRecorder.dump``).

    Raises :class:`~gclab.errors.MonitorError` naming the file and the fault when it is
    missing, not an events file, of another version, truncated or corrupt.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise MonitorError(f"cannot read the GC events file {name}: {error.strerror}") from None
    if not data.startswith(MAGIC):
        raise MonitorError(f"{name} is not a gclab GC events file (no {MAGIC!r} header)")
    end = data.find(b"\n", len(MAGIC))
    try:
        header = json.loads(data[len(MAGIC):end]) if end > 0 else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != "gclab-gc-events":
        raise MonitorError(f"{name}: the header is not valid (truncated or corrupt)")
    if header.get("version") != monitor_agent.FORMAT_VERSION:
        raise MonitorError(f"{name}: format version {header.get('version')!r} is not "
                           f"{monitor_agent.FORMAT_VERSION}, the one this gclab reads")
    if [c[:2] for c in header.get("columns", [])] != [list(c) for c in COLUMNS]:
        raise MonitorError(f"{name}: unexpected columns {header.get('columns')!r}")
    rows = int(header["rows"])
    blobs, offset = [], end + 1
    for _, _, itemsize in header["columns"]:
        blobs.append(data[offset:offset + rows * itemsize])
        offset += rows * itemsize
    if offset != len(data):
        raise MonitorError(f"{name}: {len(data)} bytes where the header announces {offset} "
                           f"(truncated or corrupt)")
    crc = 0
    for blob in blobs:
        crc = zlib.crc32(blob, crc)
    if crc != header.get("crc32"):
        raise MonitorError(f"{name}: the checksum does not match (corrupt)")
    return GcEvents.from_columns(_decode(header, blobs, name), header)


@dataclass(frozen=True)
class GenerationStats:
    """One generation's collections: counts and pauses (nanoseconds).

    ``collections``, ``pause_total_ns``, ``collected`` and ``uncollectable`` are exact totals
    (dropped events included); the percentiles, ``pause_max_ns`` and ``candidates`` come from
    the events kept (``candidates`` is -1 when the interpreter does not report them).
    """

    generation: int
    collections: int
    pause_total_ns: int
    pause_p50_ns: int
    pause_p95_ns: int
    pause_p99_ns: int
    pause_max_ns: int
    pause_mean_ns: float
    collected: int
    uncollectable: int
    candidates: int
    per_minute: float


@dataclass(frozen=True, eq=False)
class GcReport:
    """The summary of :class:`GcEvents`: per generation (0, 1, 2) and overall.

    ``gc_share`` is the time in collections over the wall time recorded (0 when none
    elapsed); ``per_minute`` the collections per minute of wall time.
    """

    events: GcEvents
    generations: tuple[GenerationStats, ...]
    wall_ns: int
    gc_ns: int
    gc_share: float
    collections: int
    per_minute: float

    def stats(self, generation: int) -> GenerationStats:
        """The statistics of ``generation``."""
        for stats in self.generations:
            if stats.generation == generation:
                return stats
        raise MonitorError(f"no generation {generation!r} in this report")

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data: times in nanoseconds, shares as fractions; the
        per-event arrays under ``events`` (``start_ns`` relative to the recording's start)."""
        ev = self.events
        return {
            "wall_ns": self.wall_ns, "gc_ns": self.gc_ns, "gc_share": self.gc_share,
            "collections": self.collections, "per_minute": self.per_minute,
            "dropped": ev.dropped,
            "generations": [vars(g) for g in self.generations],
            "process": {k: ev.meta[k] for k in ("pid", "python", "implementation", "argv",
                                                "gc_threshold", "gc_enabled")
                        if k in ev.meta},
            "events": {"generation": ev.generation.tolist(), "start_ns": ev.start_ns.tolist(),
                       "pause_ns": ev.pause_ns.tolist(), "collected": ev.collected.tolist(),
                       "uncollectable": ev.uncollectable.tolist(),
                       "candidates": ev.candidates.tolist()},
        }


def _generation_stats(events: GcEvents, generation: int, minutes: float) -> GenerationStats:
    """One generation's row of the report (afterwards: exact totals, percentiles of the
    events kept)."""
    mask = events.generation == generation
    pauses = events.pause_ns[mask]
    candidates = events.candidates[mask]
    count = int(events.totals["total_count"][generation])
    known = candidates[candidates >= 0]
    return GenerationStats(
        generation=generation, collections=count,
        pause_total_ns=int(events.totals["total_pause_ns"][generation]),
        pause_p50_ns=percentile(pauses, 50), pause_p95_ns=percentile(pauses, 95),
        pause_p99_ns=percentile(pauses, 99),
        pause_max_ns=int(pauses.max()) if pauses.size else 0,
        pause_mean_ns=float(pauses.mean()) if pauses.size else 0.0,
        collected=int(events.totals["total_collected"][generation]),
        uncollectable=int(events.totals["total_uncollectable"][generation]),
        candidates=int(known.sum()) if known.size and known.size == candidates.size else -1,
        per_minute=count / minutes if minutes > 0 else 0.0)


def gc_report(events: GcEvents) -> GcReport:
    """The report of ``events``: generations 0, 1, 2 (and 3 if a collection reported it).

    >>> import numpy as np
    >>> ev = GcEvents(generation=np.array([0, 0, 2], np.int8), start_ns=np.array([0, 10, 20]),
    ...               pause_ns=np.array([4, 6, 30]), collected=np.array([0, 1, 5]),
    ...               uncollectable=np.zeros(3, np.int64), candidates=np.full(3, -1),
    ...               wall_ns=100, totals={"total_count": np.array([2, 0, 1, 0]),
    ...               "total_pause_ns": np.array([10, 0, 30, 0]),
    ...               "total_collected": np.array([1, 0, 5, 0]),
    ...               "total_uncollectable": np.zeros(4, np.int64)})
    >>> r = gc_report(ev)
    >>> r.gc_ns, r.gc_share, r.stats(0).pause_p50_ns, r.stats(0).pause_max_ns
    (40, 0.4, 4, 6)
    """
    minutes = events.wall_ns / 60e9
    shown = [g for g in range(GENERATIONS) if g < 3 or events.totals["total_count"][g]]
    generations = tuple(_generation_stats(events, g, minutes) for g in shown)
    gc_ns = sum(g.pause_total_ns for g in generations)
    collections = sum(g.collections for g in generations)
    return GcReport(events=events, generations=generations, wall_ns=events.wall_ns,
                    gc_ns=gc_ns, gc_share=gc_ns / events.wall_ns if events.wall_ns else 0.0,
                    collections=collections,
                    per_minute=collections / minutes if minutes > 0 else 0.0)


class GcMonitor:
    """Records the real collector's events while active (a context manager).

    ``with GcMonitor() as mon: ...`` installs a :class:`GcRecorder` in ``gc.callbacks`` and
    removes it on leaving; :meth:`events` and :meth:`report` read what it recorded (also
    while still active).
    """

    def __init__(self, *, max_events: int = monitor_agent.DEFAULT_MAX_EVENTS) -> None:
        try:
            self.recorder = GcRecorder(max_events)
        except ValueError as error:
            raise MonitorError(str(error)) from None

    def start(self) -> GcMonitor:
        """Start recording; afterwards the recorder is in ``gc.callbacks``."""
        self.recorder.install()
        return self

    def stop(self) -> None:
        """Stop recording; afterwards the recorder is no longer in ``gc.callbacks``."""
        self.recorder.uninstall()

    def __enter__(self) -> GcMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def events(self) -> GcEvents:
        """The events recorded so far."""
        return GcEvents.from_recorder(self.recorder)

    def report(self) -> GcReport:
        """The report of the events recorded so far (:func:`gc_report`)."""
        return gc_report(self.events())


def monitor(*, max_events: int = monitor_agent.DEFAULT_MAX_EVENTS) -> GcMonitor:
    """A :class:`GcMonitor`: ``with gclab.monitor() as mon: ...; mon.report()``."""
    return GcMonitor(max_events=max_events)


# -- Prometheus ------------------------------------------------------------------------------

#: The pause histogram's bucket bounds, seconds (prometheus-client's defaults, finer below 5 ms).
PAUSE_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                 2.5, 5.0, 10.0)


class _ReportCollector:
    """A prometheus-client collector that yields a :class:`GcReport`'s metric families."""

    def __init__(self, report: GcReport) -> None:
        self.report = report

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        report, ev = self.report, self.report.events
        counters = {
            "python_gc_collections": ("Collections, by generation.", "collections"),
            "python_gc_objects_collected": ("Objects collected, by generation.", "collected"),
            "python_gc_objects_uncollectable": ("Uncollectable objects found, by generation.",
                                                "uncollectable"),
        }
        for metric, (doc, attr) in counters.items():
            family = CounterMetricFamily(metric, doc, labels=["generation"])
            for g in report.generations:
                family.add_metric([str(g.generation)], getattr(g, attr))
            yield family
        histogram = HistogramMetricFamily("python_gc_duration_seconds",
                                          "Collection pauses, by generation (events kept).",
                                          labels=["generation"])
        quantiles = GaugeMetricFamily("gclab_gc_pause_quantile_seconds",
                                      "Nearest-rank pause percentiles, by generation.",
                                      labels=["generation", "quantile"])
        for g in report.generations:
            pauses = np.sort(ev.pause_ns[ev.generation == g.generation]) / 1e9
            counts = np.searchsorted(pauses, PAUSE_BUCKETS, side="right")
            buckets = [(repr(b), int(c)) for b, c in zip(PAUSE_BUCKETS, counts, strict=True)]
            buckets.append(("+Inf", int(pauses.size)))
            histogram.add_metric([str(g.generation)], buckets, float(pauses.sum()))
            for q in PERCENTILES:
                quantiles.add_metric([str(g.generation), str(q / 100)],
                                     getattr(g, f"pause_p{q}_ns") / 1e9)
            quantiles.add_metric([str(g.generation), "1.0"], g.pause_max_ns / 1e9)
        yield histogram
        yield quantiles
        yield GaugeMetricFamily("gclab_gc_time_ratio", "Share of wall time in collections.",
                                value=report.gc_share)
        yield GaugeMetricFamily("gclab_gc_wall_seconds", "Wall time recorded.",
                                value=report.wall_ns / 1e9)
        yield GaugeMetricFamily("gclab_gc_collections_per_minute",
                                "Collections per minute of wall time.", value=report.per_minute)


def prometheus_registry(report: GcReport) -> Any:
    """A ``prometheus_client.CollectorRegistry`` holding ``report``'s metrics: the counters
    ``python_gc_collections_total``, ``python_gc_objects_collected_total`` and
    ``python_gc_objects_uncollectable_total`` (prometheus-client's names), the histogram
    ``python_gc_duration_seconds`` and the gauges ``gclab_gc_pause_quantile_seconds``,
    ``gclab_gc_time_ratio``, ``gclab_gc_wall_seconds``, ``gclab_gc_collections_per_minute``;
    every per-generation metric labelled ``generation``."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ReportCollector(report))
    return registry


def prometheus_text(report: GcReport) -> str:
    """``report`` in Prometheus' text exposition format (``generate_latest``)."""
    from prometheus_client import generate_latest

    text: bytes = generate_latest(prometheus_registry(report))
    return text.decode("utf-8")
