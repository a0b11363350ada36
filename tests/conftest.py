"""Test helper modules in this directory (``heapstate``, ``proxy_support``) are imported
by plain name."""

import gc as host_gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The suite proves the compiled helpers on small heaps, so this process compiles from the first
# call (as GCLAB_JIT_MIN=0 would) unless the caller chose a threshold. The environment is left
# alone: child processes (and what tests/snapshots/test_run.py checks they see) get the default.
# tests/test_startup.py covers the default threshold in child processes of its own.
from gclab import _jit, config  # the pytest plugin may have imported gclab already

if "GCLAB_JIT_MIN" not in os.environ:
    config.JIT_MIN = 0
if config.JIT_MIN <= 0:
    _jit.activate()

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture
def host_collector_off() -> Iterator[None]:
    """The host's cycle collector must not release proxies at random moments (use with
    ``pytestmark = pytest.mark.usefixtures("host_collector_off")``)."""
    was_enabled = host_gc.isenabled()
    host_gc.disable()
    yield
    if was_enabled:
        host_gc.enable()
