"""Phases any collector and the ``gc`` facade call: compiled by default, the oracles under
GCLAB_JIT=0 (choosing is policy, so it is made in the collector layer).

The names bound here are those of :mod:`gclab.kernels.introspection` when
:data:`gclab._jit.ENABLED` is true, else those of :mod:`gclab.algorithms.introspection`; both
have the same signatures and results (``tests/test_introspection_kernels.py``). Callers look
them up here at call time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._jit import ENABLED

if TYPE_CHECKING or not ENABLED:  # the oracles' signatures are the contract
    from ..algorithms import introspection as _introspection
else:
    from ..kernels import introspection as _introspection

get_objects_ids = _introspection.get_objects_ids
get_referrer_ids = _introspection.get_referrer_ids
