"""Collectors: *when* and *what* to collect, and the order of the phases."""

from .generational import GcState, GenerationalCollector
from .record import CollectionRecord

__all__ = ["CollectionRecord", "GcState", "GenerationalCollector"]
