"""Collectors: *when* and *what* to collect, and the order of the phases.

Importing this package registers every collector (:func:`~gclab.collectors.base.collector_names`
lists them): ``cpython`` (:mod:`gclab.collectors.cpython.generational`), ``refcount``
(:mod:`gclab.collectors.refcount`) and ``marksweep`` (:mod:`gclab.collectors.marksweep`).
"""

from .base import Capabilities, Collector, collector_class, collector_names
from .cpython.generational import GenerationalCollector
from .marksweep import MarkSweepCollector
from .record import CollectionRecord
from .refcount import RefcountCollector
from .state import GcState

__all__ = ["Capabilities", "CollectionRecord", "Collector", "GcState", "GenerationalCollector",
           "MarkSweepCollector", "RefcountCollector", "collector_class", "collector_names"]
