"""Test helper modules in this directory (``heapstate``, ``proxy_support``) are imported
by plain name."""

import gc as host_gc
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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
