"""The conformance battery on the reference-counting-only collector, every profile."""

import pytest

from gclab.testing.conformance import ConformanceBattery, collectors

# until the collector registry lands (the "refcount" collector comes with it)
pytestmark = pytest.mark.skipif("refcount" not in collectors(), reason="no refcount collector")


class TestRefcountConformance(ConformanceBattery):
    COLLECTOR = "refcount"
