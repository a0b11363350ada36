"""Managed classes (``@heap.cls``): zero-argument ``super()``, ``__del__`` as a method, repr
(issue #7, item 5 and what it made reachable).

The proxy class that ``@heap.cls`` makes takes over the user class's methods; their
``__class__`` cells are moved to it, as ``dataclass(slots=True)`` does, so ``super()`` finds the
instance (an instance of the proxy class).
"""

from __future__ import annotations

import gc as host_gc
from typing import Any

import pytest

import gclab
from gclab.heap.invariants import check_invariants
from proxy_support import unchanged


@pytest.fixture(params=["2.7", "3.10", "3.12"])
def heap(request: pytest.FixtureRequest) -> gclab.Heap:
    return gclab.Heap(request.param)


def test_super_init_in_single_inheritance(heap: gclab.Heap) -> None:
    """repro_super: ``super().__init__(v)`` used to raise ``super(type, obj): obj must be an
    instance or subtype of type``."""

    @heap.cls
    class Base:
        def __init__(self, v: int = 0) -> None:
            self.v = v

    @heap.cls
    class Child(Base):
        def __init__(self, v: int, w: int) -> None:
            super().__init__(v)
            self.w = w

    child = Child(1, 2)
    assert (child.v, child.w) == (1, 2) and type(child).__mro__[1] is Base
    check_invariants(heap)


def test_super_repr_of_a_class_deriving_from_object(heap: gclab.Heap) -> None:
    @heap.cls
    class Plain:
        def __repr__(self) -> str:
            return "Plain/" + super().__repr__()

    plain = Plain()
    assert repr(plain) == f"Plain/<{__name__}.{Plain.__qualname__} object at 0x{plain._id:x}>"


def test_a_chain_of_three_managed_classes(heap: gclab.Heap) -> None:
    calls: list[str] = []

    @heap.cls
    class A:
        def __init__(self) -> None:
            calls.append("A")
            self.a = 1

        def describe(self) -> str:
            return "A"

        @classmethod
        def make(cls) -> Any:
            return cls()

        @property
        def label(self) -> str:
            return "label-A"

    @heap.cls
    class B(A):
        def __init__(self) -> None:
            calls.append("B")
            super().__init__()
            self.b = 2

        def describe(self) -> str:
            return "B>" + super().describe()

        @classmethod
        def make(cls) -> Any:
            obj = super().make()
            obj.made = True
            return obj

        @property
        def label(self) -> str:
            return super().label + "+B"

    @heap.cls
    class C(B):
        def __init__(self) -> None:
            calls.append("C")
            super().__init__()
            self.c = 3

        def describe(self) -> str:
            return "C>" + super().describe()

        @staticmethod
        def kind() -> str:
            return "static"

    c = C.make()
    assert calls == ["C", "B", "A"] and (c.a, c.b, c.c, c.made) == (1, 2, 3, True)
    assert c.describe() == "C>B>A" and c.label == "label-A+B" and c.kind() == "static"
    assert isinstance(c, B) and isinstance(c, A) and type(c).__mro__[1:3] == (B, A)


def test_repr_names_module_and_qualname_like_object_repr(heap: gclab.Heap) -> None:
    class Host:
        pass

    managed = heap.cls(type("Point", (), {"__module__": "geometry",
                                          "__qualname__": "Shapes.Point"}))
    point = managed()
    assert repr(point) == f"<geometry.Shapes.Point object at 0x{point._id:x}>"
    assert repr(heap.list([point])) == f"[{point!r}]"  # containers use the instance's repr
    assert repr(Host()).startswith(f"<{__name__}.")  # the real form, for comparison


def test_user_repr_is_used_inside_containers_and_recursion_is_cut(heap: gclab.Heap) -> None:
    @heap.cls
    class Node:
        def __repr__(self) -> str:
            return f"Node({self.items!r})"

    node = Node()
    node.items = heap.list([1, node])
    assert repr(node) == "Node([1, Node([...])])"  # as CPython: the list is already being repr'd


# -- __del__ called by user code ------------------------------------------------------------------


def test_explicit_del_calls_run_the_finalizer_code_and_delete_nothing(heap: gclab.Heap) -> None:
    """A tutorial's ``obj.__del__()`` runs the method and deletes nothing; it used to release
    the proxy's reference, and a list was left holding a freed id."""
    log: list[str] = []

    @heap.cls
    class A:
        def __del__(self) -> None:
            log.append("A")

    @heap.cls
    class B(A):
        def __del__(self) -> None:
            log.append("B")
            super().__del__()

    a, b = A(), B()
    keep = heap.list([a, b])
    counts = heap.getrefcount(a), heap.getrefcount(b)
    a.__del__()
    b.__del__()
    A.__del__(b)
    assert log == ["A", "B", "A", "A"]
    assert (heap.getrefcount(a), heap.getrefcount(b)) == counts
    del a, b
    host_gc.collect()
    check_invariants(heap)
    assert keep[0].__class__ is A
    log.clear()
    del keep
    host_gc.collect()
    assert sorted(log) == ["A", "A", "B"]  # the simulated deaths: B's __del__ calls A's
    check_invariants(heap)


def test_super_del_without_a_base_finalizer_is_an_attribute_error(heap: gclab.Heap) -> None:
    @heap.cls
    class Plain:
        pass

    obj = Plain()
    with unchanged(heap), pytest.raises(AttributeError, match="has no attribute '__del__'"):
        obj.__del__()
    host = type("Plain", (), {})()
    with pytest.raises(AttributeError, match="has no attribute '__del__'"):
        host.__del__()  # the same on the real interpreter


def test_the_decorated_class_methods_belong_to_the_managed_class() -> None:
    heap = gclab.Heap()

    class Base:
        def hello(self) -> str:
            return "base"

    class Child(Base):
        def hello(self) -> str:
            return "child>" + super().hello()

    managed_base = heap.cls(Base)
    assert managed_base().hello() == "base"
    managed_child = heap.cls(type("Child", (managed_base,), {"hello": Child.hello}))
    with pytest.raises(TypeError, match="super"):
        managed_child().hello()  # Child.hello's __class__ cell is the host Child: as in CPython
