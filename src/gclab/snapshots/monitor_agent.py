"""The GC event recorder that runs inside the monitored process: standard library only, 3.8+.

This file is used twice, unchanged: ``gclab.monitor()`` imports it in-process, and
``gclab monitor -- cmd`` copies it as ``sitecustomize.py`` into a temporary directory put on
the target's ``PYTHONPATH``, so a program whose environment has nothing installed is monitored
from its first line (the bootstrap then imports the ``sitecustomize`` it shadowed, if any).
It must therefore import nothing but the standard library and parse on Python 3.8.

:class:`GcRecorder` is a ``gc.callbacks`` entry. Per collection it keeps, in flat ``array``
columns (no Python object per event): the generation, ``time.perf_counter_ns()`` at "start"
and at "stop", the collected and uncollectable counts, the candidates (-1 where the interpreter
does not report them) and the interpreter's own ``duration`` (3.15+, -1 otherwise).
Per-generation totals are kept as well, so they stay exact after ``max_events`` is reached
(later events are counted in ``dropped`` and the totals, not kept one by one).

The events file (:meth:`GcRecorder.dump`) is ``MAGIC``, one line of JSON (the header: format
version, process facts, the columns' names, typecodes, item sizes and byte order, a CRC-32 of
the column bytes), then each column's bytes in header order. It is replaced atomically, so a
reader never sees half of it.

>>> import gc
>>> recorder = GcRecorder().install()
>>> _ = gc.collect(1)
>>> recorder.uninstall()
>>> len(recorder), recorder.generation[-1], recorder.stop_ns[-1] >= recorder.start_ns[-1]
(1, 1, True)
"""

import array
import atexit
import gc
import json
import os
import sys
import threading
import time
import zlib

MAGIC = b"GCLABMON\n"
FORMAT_VERSION = 1
#: Environment variables of the bootstrap: the events file, the period of rewrites (seconds),
#: the most events kept one by one.
ENV_OUT = "GCLAB_MONITOR_OUT"
ENV_EVERY = "GCLAB_MONITOR_EVERY"
ENV_MAX = "GCLAB_MONITOR_MAX_EVENTS"
DEFAULT_MAX_EVENTS = 1000000
#: Per-event columns: (name, array typecode).
COLUMNS = (("generation", "b"), ("start_ns", "q"), ("stop_ns", "q"), ("collected", "q"),
           ("uncollectable", "q"), ("candidates", "q"), ("duration_ns", "q"))
#: Per-generation totals (index = generation, 0..3): (name, typecode).
TOTALS = (("total_count", "q"), ("total_pause_ns", "q"), ("total_collected", "q"),
          ("total_uncollectable", "q"))
GENERATIONS = 4


class _collector_paused:
    """A ``with`` block in which no automatic collection starts (the collector is disabled
    and re-enabled after, if it was enabled), so that ``gc.get_stats()`` and the recorded
    events describe the same collections."""

    def __enter__(self):
        self.enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.enabled:
            gc.enable()


class GcRecorder:
    """Records every collection of this interpreter while installed in ``gc.callbacks``.

    After ``install()`` each finished collection has appended one row to every column; after
    ``uninstall()`` nothing more is recorded. ``begin_ns``/``end_ns`` bound the recorded
    interval on the ``perf_counter_ns`` clock (``end_ns`` is 0 while recording).
    """

    def __init__(self, max_events=DEFAULT_MAX_EVENTS):
        if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 0:
            raise ValueError(f"max_events must be a non-negative int, not {max_events!r}")
        self.max_events = max_events
        for name, code in COLUMNS:
            setattr(self, name, array.array(code))
        for name, code in TOTALS:
            setattr(self, name, array.array(code, [0] * GENERATIONS))
        self._state = [-1, 0]
        self.begin_ns = 0
        self.end_ns = 0
        self.wall_time = 0.0
        self.pid = os.getpid()
        self.stats_before = None
        self._installed = False
        self.callback = self._make_callback()

    def __len__(self):
        """The number of events kept one by one (all columns have at least this many rows)."""
        return min(len(getattr(self, name)) for name, _ in COLUMNS)

    @property
    def dropped(self):
        """Collections counted in the totals but not kept one by one (past ``max_events``)."""
        return self._state[1]

    def __call__(self, phase, info):
        """The ``gc.callbacks`` protocol (what :attr:`callback` does)."""
        self.callback(phase, info)

    def _make_callback(self):
        """The ``gc.callbacks`` entry: a plain function over local names (the cheapest call
        CPython makes twice per collection) that times "start" and appends one row at "stop"."""
        clock = time.perf_counter_ns
        state = self._state                   # [time at "start" or -1, dropped]
        limit = self.max_events
        generations, last = GENERATIONS, GENERATIONS - 1
        count, paused = self.total_count, self.total_pause_ns
        freed, stuck = self.total_collected, self.total_uncollectable
        add_generation, add_start = self.generation.append, self.start_ns.append
        add_stop, add_collected = self.stop_ns.append, self.collected.append
        add_uncollectable, add_candidates = self.uncollectable.append, self.candidates.append
        add_duration, kept = self.duration_ns.append, self.stop_ns

        def callback(phase, info):
            now = clock()
            if phase == "start":
                state[0] = now
                return
            started = state[0]
            if phase != "stop" or started < 0:
                return
            state[0] = -1
            generation = info.get("generation", 0)
            duration = info.get("duration")
            duration_ns = int(duration * 1e9) if isinstance(duration, (int, float)) else -1
            pause = duration_ns if duration_ns >= 0 else now - started
            collected = info.get("collected", 0)
            uncollectable = info.get("uncollectable", 0)
            g = generation if 0 <= generation < generations else last
            count[g] += 1
            paused[g] += pause
            freed[g] += collected
            stuck[g] += uncollectable
            if len(kept) >= limit:
                state[1] += 1
                return
            add_generation(generation)
            add_start(started)
            add_stop(now)
            add_collected(collected)
            add_uncollectable(uncollectable)
            add_candidates(info.get("candidates", -1))
            add_duration(duration_ns)

        return callback

    def install(self):
        """Start recording (appends :attr:`callback` to ``gc.callbacks``); returns ``self``."""
        if not self._installed:
            with _collector_paused():
                self.stats_before = gc.get_stats()
                self.wall_time = time.time()
                self.begin_ns = time.perf_counter_ns()
                self.end_ns = 0
                gc.callbacks.append(self.callback)
                self._installed = True
        return self

    def uninstall(self):
        """Stop recording: :attr:`callback` is no longer in ``gc.callbacks``; ``end_ns`` is set."""
        if self._installed:
            self._installed = False
            self.end_ns = time.perf_counter_ns()
            try:
                gc.callbacks.remove(self.callback)
            except ValueError:
                pass

    def header(self, rows):
        """The events file's header for the first ``rows`` events, as a dict."""
        end_ns = self.end_ns or time.perf_counter_ns()
        return {
            "format": "gclab-gc-events", "version": FORMAT_VERSION, "rows": rows,
            "columns": [[name, code, array.array(code).itemsize] for name, code in COLUMNS],
            "byteorder": sys.byteorder, "begin_ns": self.begin_ns, "end_ns": end_ns,
            "wall_time": self.wall_time, "pid": self.pid, "argv": list(sys.argv),
            "python": ".".join(str(part) for part in sys.version_info[:3]),
            "implementation": sys.implementation.name,
            "gc_threshold": list(gc.get_threshold()), "gc_enabled": gc.isenabled(),
            "stats_before": self.stats_before, "stats_after": gc.get_stats(),
            "dropped": self.dropped, "max_events": self.max_events,
            "totals": {name: list(getattr(self, name)) for name, _ in TOTALS},
        }

    def payload(self):
        """``(header, column bytes)``: a consistent copy of what has been recorded so far (the
        header's ``stats_after`` counts exactly the collections of ``totals``, when nothing
        collects from another thread meanwhile)."""
        with _collector_paused():
            rows = len(self)
            blobs = [getattr(self, name)[:rows].tobytes() for name, _ in COLUMNS]
            header = self.header(rows)
        crc = 0
        for blob in blobs:
            crc = zlib.crc32(blob, crc)
        header["crc32"] = crc
        return header, blobs

    def dump(self, path):
        """Write the events file at ``path`` (atomically: a temporary file, then a rename).

        Only the process that installed the recorder writes (a forked child does not).
        """
        if os.getpid() != self.pid:
            return
        header, blobs = self.payload()
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "wb") as out:
            out.write(MAGIC)
            out.write(json.dumps(header, sort_keys=True).encode("utf-8") + b"\n")
            for blob in blobs:
                out.write(blob)
        os.replace(temporary, path)


def _periodic(recorder, path, every):
    """Rewrite the events file every ``every`` seconds (a daemon thread's body)."""
    wait = threading.Event().wait
    while True:
        wait(every)
        try:
            recorder.dump(path)
        except OSError:
            pass


def _chain_sitecustomize():
    """Import the ``sitecustomize`` this bootstrap shadows, if there is one."""
    here = os.path.dirname(os.path.abspath(__file__))
    ours = sys.modules.pop("sitecustomize", None)
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        import sitecustomize  # noqa: F401  (the shadowed one, run for its side effects)
    except ImportError:
        pass
    except Exception as error:  # as site.py does: report and go on
        sys.stderr.write(f"gclab monitor: the shadowed sitecustomize failed: {error!r}\n")
    finally:
        sys.path[:] = saved
        if ours is not None:
            sys.modules["sitecustomize"] = ours


def bootstrap(environ=None):
    """Start recording if ``GCLAB_MONITOR_OUT`` names a file; return the recorder or None.

    Afterwards the recorder is in ``gc.callbacks``, the events file is written at exit (and
    every ``GCLAB_MONITOR_EVERY`` seconds), and the variables are removed from ``os.environ``
    so that child processes are not monitored into the same file.
    """
    environ = os.environ if environ is None else environ
    path = environ.pop(ENV_OUT, None)
    every = environ.pop(ENV_EVERY, None)
    limit = environ.pop(ENV_MAX, None)
    if not path or not hasattr(gc, "callbacks"):
        return None
    recorder = GcRecorder(int(limit) if limit else DEFAULT_MAX_EVENTS).install()
    atexit.register(recorder.dump, path)
    if every and float(every) > 0:
        thread = threading.Thread(target=_periodic, args=(recorder, path, float(every)),
                                  name="gclab-monitor", daemon=True)
        thread.start()
    return recorder


if __name__ == "sitecustomize":
    RECORDER = bootstrap()
    _chain_sitecustomize()
