"""Test helper modules in this directory (``heapstate``, ``proxy_support``) are imported
by plain name."""

import gc as host_gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The suite proves the compiled helpers on small heaps, so it compiles from the first call
# (GCLAB_JIT_MIN=0; child processes inherit it) unless the caller chose a threshold.
# tests/test_startup.py covers the default threshold in child processes of its own.
os.environ.setdefault("GCLAB_JIT_MIN", "0")
from gclab import _jit, config  # the pytest plugin may have imported gclab already

config.JIT_MIN = int(os.environ["GCLAB_JIT_MIN"])
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
