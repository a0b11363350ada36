"""The conformance battery on the mark-sweep collector (deferred reference counting)."""

from gclab.testing.conformance import ConformanceBattery


class TestMarkSweepConformance(ConformanceBattery):
    COLLECTOR = "marksweep"
