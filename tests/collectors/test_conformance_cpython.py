"""The conformance battery (gclab.testing.conformance) on the CPython collector, every profile."""

from gclab.testing.conformance import ConformanceBattery


class TestCPythonConformance(ConformanceBattery):
    COLLECTOR = "cpython"
