"""The conformance battery on the reference-counting-only collector, every profile."""

from gclab.testing.conformance import ConformanceBattery


class TestRefcountConformance(ConformanceBattery):
    COLLECTOR = "refcount"
