"""The bootstrap of ``gclab run``: copied as ``sitecustomize.py`` into a directory that
``gclab run`` prepends to the program's ``PYTHONPATH``, next to the agent's source.

Standard library only, Python 3.8+: the program's environment needs nothing installed. When
Python imports it at start-up as ``sitecustomize`` it

* takes its settings from the environment (``GCLAB_RUN_*``) and removes them, restores
  ``PYTHONPATH`` and drops its directory from ``sys.path``: the program's own child processes
  and imports see the environment they would have seen without gclab;
* loads the agent's source into a module object of its own (not in ``sys.modules``);
* installs the requested triggers: ``atexit`` (at exit), a signal handler (``GCLAB_RUN_SIGNAL``,
  e.g. ``SIGUSR2``), a daemon timer thread (``GCLAB_RUN_EVERY`` seconds);
* runs the ``sitecustomize`` it shadows, if the interpreter has one.

Each trigger dumps to ``SPOOL/<pid>-<n>.raw`` and then writes ``SPOOL/<pid>-<n>.done`` (a Python
literal: ``status``, ``trigger``, ``pause`` seconds, ``n``) by an atomic rename; ``gclab run``
converts the dumps outside the program. Only the process that started under gclab dumps (not
its forked children). A dump that another trigger starts while one runs is skipped. Nothing is
printed. Imported under any other name (as ``gclab.snapshots.run_site``) it does nothing.
"""

import os
import sys


def _settings():
    """The ``GCLAB_RUN_*`` settings, removed from the environment; None when absent."""
    spool = os.environ.pop("GCLAB_RUN_SPOOL", None)
    site_dir = os.environ.pop("GCLAB_RUN_SITE", "")
    every = os.environ.pop("GCLAB_RUN_EVERY", "")
    signame = os.environ.pop("GCLAB_RUN_SIGNAL", "")
    at_exit = os.environ.pop("GCLAB_RUN_AT_EXIT", "") == "1"
    collect = os.environ.pop("GCLAB_RUN_COLLECT", "") == "1"
    had_path = os.environ.pop("GCLAB_RUN_HAD_PYTHONPATH", "") == "1"
    original = os.environ.pop("GCLAB_RUN_PYTHONPATH", "")
    if had_path:
        os.environ["PYTHONPATH"] = original
    else:
        os.environ.pop("PYTHONPATH", None)
    if site_dir:
        site_dir = os.path.abspath(site_dir)
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != site_dir]
    if not spool:
        return None
    return {"spool": spool, "site": site_dir, "every": float(every) if every else 0.0,
            "signal": signame, "at_exit": at_exit, "collect": collect}


def _load_agent(site_dir):
    """The agent's module (from ``site_dir/gclab_agent.py``), not registered anywhere."""
    import types

    path = os.path.join(site_dir, "gclab_agent.py")
    module = types.ModuleType("_gclab_agent")
    module.__file__ = path
    with open(path) as source:
        code = compile(source.read(), path, "exec")
    exec(code, module.__dict__)
    return module


def _install(settings):
    """Register the triggers of ``settings`` (see the module docstring)."""
    import threading
    import time

    agent = _load_agent(settings["site"])
    spool, collect, pid = settings["spool"], settings["collect"], os.getpid()
    lock = threading.Lock()
    count = [0]

    def snapshot(trigger):
        # at exit, wait for a dump in progress (a timer's): skipping would lose the last one
        if os.getpid() != pid or not lock.acquire(trigger == "exit"):
            return
        try:
            count[0] += 1
            base = os.path.join(spool, f"{pid}-{count[0]}")
            start = time.perf_counter()
            status = "ok"
            try:
                agent.dump(base + ".raw", collect=collect)
            except BaseException as error:
                status = f"error: {type(error).__name__}: {str(error)[:400]}"
            done = {"status": status, "trigger": trigger, "n": count[0], "pid": pid,
                    "pause": time.perf_counter() - start, "time": time.time()}
            with open(base + ".tmp", "w") as marker:
                marker.write(repr(done))
            os.rename(base + ".tmp", base + ".done")
        except OSError:
            pass
        finally:
            lock.release()

    if settings["at_exit"]:
        import atexit

        atexit.register(snapshot, "exit")
    if settings["signal"]:
        import signal

        signal.signal(getattr(signal, settings["signal"]),
                      lambda signum, frame: snapshot("signal"))
    if settings["every"] > 0:
        stop = threading.Event()

        def every():
            while not stop.wait(settings["every"]):
                snapshot("timer")

        threading.Thread(target=every, name="gclab-run-timer", daemon=True).start()
        import atexit

        def finish():
            # Daemon threads die after the atexit handlers: let a timer's dump in progress
            # finish first (atexit runs this before the exit snapshot, registered earlier).
            stop.set()
            if lock.acquire(True, 600):
                lock.release()

        atexit.register(finish)


def _chain(site_dir):
    """Run the ``sitecustomize`` this one shadows, if there is one on ``sys.path``."""
    import importlib.machinery
    import importlib.util

    path = [p for p in sys.path if os.path.abspath(p or ".") != site_dir]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


def _main():
    """What importing this file as ``sitecustomize`` does."""
    settings = _settings()
    if settings is None:
        return
    try:
        _install(settings)
    except Exception as error:  # never break the program's start-up
        try:
            base = os.path.join(settings["spool"], f"{os.getpid()}-0")
            with open(base + ".tmp", "w") as marker:
                status = f"error: cannot install: {type(error).__name__}: {error}"
                marker.write(repr({"status": status, "trigger": "start", "n": 0}))
            os.rename(base + ".tmp", base + ".done")
        except OSError:
            pass
    _chain(settings["site"])


if __name__ == "sitecustomize":
    _main()
