"""Proxies behave like the real types (issue #7, item 4): differential tests.

The same operations run on real Python values and on proxies built from the same description;
results are compared after converting proxies to host values (``to_host``), errors by type and
message. Atoms of one kind per value (no ``1``/``True``/``1.0`` together): inside the heap,
dict keys and set members compare by identity, and equal atoms of one type are one atom.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gclab
from gclab.heap.invariants import check_invariants
from gclab.heap.proxies import DictProxy, ListProxy, SetProxy, TupleProxy
from proxy_support import outcome, to_host, unchanged

ATOMS = [0, 1, 2, 3, "a", "b", None, 2.5, b"x"]
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True)


@dataclass(frozen=True)
class Node:
    """A container to build twice: as a real value and on a heap."""

    kind: str
    items: tuple[Any, ...]


def real(node: Any) -> Any:
    if not isinstance(node, Node):
        return node
    items = [real(item) for item in node.items]
    if node.kind == "dict":
        return dict(items)
    return {"list": list, "tuple": tuple, "set": set, "pair": tuple}[node.kind](items)


def sim(heap: gclab.Heap, node: Any) -> Any:
    if not isinstance(node, Node):
        return node
    items = [sim(heap, item) for item in node.items]
    if node.kind == "dict":
        return heap.dict(items)
    return {"list": heap.list, "tuple": heap.tuple, "set": heap.set, "pair": tuple}[node.kind](
        items)


atoms = st.sampled_from(ATOMS)
hashables = st.one_of(atoms, st.builds(Node, st.just("tuple"),
                                       st.lists(atoms, max_size=2).map(tuple)))


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Node]:
    pairs = st.builds(Node, st.just("pair"), st.tuples(atoms, children))
    return st.one_of(
        st.builds(Node, st.sampled_from(["list", "tuple"]), st.lists(children, max_size=4).map(
            tuple)),
        st.builds(Node, st.just("dict"), st.lists(pairs, max_size=3).map(tuple)),
        st.builds(Node, st.just("set"), st.lists(hashables, max_size=3, unique_by=real).map(
            tuple)))  # distinct members: equal simulated tuples would be two members here


values = st.recursive(atoms, _containers, max_leaves=8)
sequences = st.builds(Node, st.sampled_from(["list", "tuple"]),
                      st.lists(values, max_size=4).map(tuple))


def _sides(heap: gclab.Heap, a: Any, b: Any, layout: str) -> tuple[Any, Any]:
    left = sim(heap, a) if layout[0] == "s" else real(a)
    right = sim(heap, b) if layout[1] == "s" else real(b)
    return left, right


LAYOUTS = st.sampled_from(["sr", "rs", "ss"])
BINARY = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge,
          operator.add, operator.mul, operator.or_, operator.and_, operator.sub, operator.xor]


BUILDING = {operator.add, operator.or_, operator.sub, operator.xor, operator.and_}


def _flat(node: Any) -> bool:
    """True when ``node`` holds only atoms (a real value of it can go into a heap object)."""
    return not isinstance(node, Node) or all(not isinstance(item, Node) for item in node.items)


@SETTINGS
@given(a=values, b=values, op=st.sampled_from(BINARY), layout=LAYOUTS)
def test_binary_operators_match_the_real_types(a: Any, b: Any, op: Callable[[Any, Any], Any],
                                              layout: str) -> None:
    """A real operand of a building operator holds atoms only: a heap stores heap objects and
    atoms, never host containers (``[[1]] + lst`` is refused)."""
    real_operand = b if layout == "sr" else a
    assume(layout == "ss" or op not in BUILDING or _flat(real_operand))
    heap = gclab.Heap()
    left, right = _sides(heap, a, b, layout)
    expected = outcome(lambda: op(real(a), real(b)))
    assert outcome(lambda: op(left, right)) == expected
    check_invariants(heap)


@SETTINGS
@given(a=sequences, count=st.sampled_from([-1, 0, 1, 2, 3, True, 2.5, "x", None, 10**30]),
       reflected=st.booleans())
def test_repetition_matches(a: Any, count: object, reflected: bool) -> None:
    heap = gclab.Heap()
    proxy = sim(heap, a)
    expected = outcome(lambda: count * real(a) if reflected else real(a) * count)
    assert outcome(lambda: count * proxy if reflected else proxy * count) == expected


@SETTINGS
@given(a=values)
def test_hash_repr_len_and_truth_match(a: Any) -> None:
    heap = gclab.Heap()
    proxy, host = sim(heap, a), real(a)
    assert outcome(lambda: hash(proxy)) == outcome(lambda: hash(host))
    assert bool(proxy) == bool(host)
    if isinstance(host, (list, tuple, dict, set)):
        assert len(proxy) == len(host)
        order = list if not isinstance(host, set) else set  # sets iterate in insertion order
        assert to_host(order(proxy)) == to_host(order(host))
    if not _holds_a_set(host):  # sets iterate in insertion order here, hash order in CPython
        assert repr(proxy) == repr(host)


def _holds_a_set(value: Any) -> bool:
    if isinstance(value, set):
        return len(value) > 1 or any(_holds_a_set(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_a_set(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_a_set(v) for v in value)
    return False


# -- a program of list operations -----------------------------------------------------------------

SMALL = st.integers(-5, 5)
STEPS = st.sampled_from([None, 1, 2, -1, -2, 3])
SLICES = st.builds(slice, st.one_of(st.none(), SMALL), st.one_of(st.none(), SMALL), STEPS)
KEYS: list[Callable[[Any], Any] | None] = [None, str, repr, lambda v: -v, lambda v: 0]

LIST_OPS = st.one_of(
    st.tuples(st.just("getitem"), st.one_of(SMALL, SLICES)),
    st.tuples(st.just("setitem"), SMALL, atoms),
    st.tuples(st.just("setitem"), SLICES, st.lists(atoms, max_size=4)),
    st.tuples(st.just("delitem"), st.one_of(SMALL, SLICES)),
    st.tuples(st.just("insert"), SMALL, atoms),
    st.tuples(st.just("pop"), SMALL),
    st.tuples(st.just("sort"), st.sampled_from(range(len(KEYS))), st.booleans()),
    st.tuples(st.just("reverse")),
    st.tuples(st.just("extend"), st.lists(atoms, max_size=3)),
    st.tuples(st.just("iadd"), st.lists(atoms, max_size=3)),
    st.tuples(st.just("imul"), st.integers(-1, 3)),
    st.tuples(st.just("index"), atoms, SMALL, SMALL),
    st.tuples(st.just("count"), atoms),
    st.tuples(st.just("remove"), atoms),
    st.tuples(st.just("reversed")),
    st.tuples(st.just("copy")),
    st.tuples(st.just("clear")),
)


def _list_op(target: Any, op: tuple[Any, ...]) -> Any:
    name, *args = op
    if name == "getitem":
        return target[args[0]]
    if name == "setitem":
        target[args[0]] = args[1]
        return None
    if name == "delitem":
        del target[args[0]]
        return None
    if name == "sort":
        return target.sort(key=KEYS[args[0]], reverse=args[1])
    if name == "iadd":
        target += args[0]
        return None
    if name == "imul":
        target *= args[0]
        return None
    if name == "reversed":
        return list(reversed(target))
    return getattr(target, name)(*args)


@SETTINGS
@given(start=st.lists(atoms, max_size=6), ops=st.lists(LIST_OPS, max_size=12))
def test_list_programs_match(start: list[Any], ops: list[tuple[Any, ...]]) -> None:
    heap = gclab.Heap()
    host, proxy = list(start), heap.list(start)
    for op in ops:
        host = _step(heap, proxy, host, op, _list_op)
    check_invariants(heap)


def _step(heap: gclab.Heap, proxy: Any, host: Any, op: tuple[Any, ...],
          apply: Callable[[Any, tuple[Any, ...]], Any]) -> Any:
    """One operation on both: the same outcome; after an error the proxy is unchanged (CPython
    may have done part of the work, e.g. ``difference_update`` before its second argument),
    so the real value restarts from the proxy's. Returns the real value to go on with."""
    expected = outcome(lambda: apply(host, op))
    with unchanged(heap) if expected[0] == "error" else _nothing():
        assert outcome(lambda: apply(proxy, op)) == expected, op
    if expected[0] == "error":
        return to_host(proxy)
    assert to_host(proxy) == host, op
    return host


class _nothing:
    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        pass


# -- tuples ---------------------------------------------------------------------------------------


@SETTINGS
@given(items=st.lists(atoms, max_size=5), index=st.one_of(SMALL, SLICES), value=atoms,
       bounds=st.tuples(SMALL, SMALL))
def test_tuple_operations_match(items: list[Any], index: Any, value: Any,
                                bounds: tuple[int, int]) -> None:
    heap = gclab.Heap()
    host, proxy = tuple(items), heap.tuple(items)
    for call in (lambda t: t[index], lambda t: t.count(value), lambda t: value in t,
                 lambda t: t.index(value), lambda t: t.index(value, *bounds),
                 lambda t: t[::-1] + t, lambda t: list(reversed(t))):
        assert outcome(lambda call=call: call(proxy)) == outcome(lambda call=call: call(host))
    if isinstance(index, slice) and index.indices(len(host)) == (0, len(host), 1):
        assert proxy[index] is proxy  # as CPython returns the tuple itself


# -- a program of dict operations -----------------------------------------------------------------

TEXT = st.sampled_from(["a", "b", "c", None, b"x"])  # one kind of key per dict: no 1/True
DICT_OPS = st.one_of(
    st.tuples(st.just("setitem"), TEXT, atoms), st.tuples(st.just("getitem"), TEXT),
    st.tuples(st.just("delitem"), TEXT), st.tuples(st.just("get"), TEXT),
    st.tuples(st.just("pop"), TEXT), st.tuples(st.just("pop"), TEXT, atoms),
    st.tuples(st.just("popitem")), st.tuples(st.just("setdefault"), TEXT, atoms),
    st.tuples(st.just("update"), st.lists(st.tuples(TEXT, atoms), max_size=3)),
    st.tuples(st.just("update_bad"), st.sampled_from([[1], [(1, 2, 3)], ["abc"], 5])),
    st.tuples(st.just("ior"), st.dictionaries(TEXT, atoms, max_size=2)),
    st.tuples(st.just("or"), st.dictionaries(TEXT, atoms, max_size=2)),
    st.tuples(st.just("ror"), st.dictionaries(TEXT, atoms, max_size=2)),
    st.tuples(st.just("eq"), st.dictionaries(TEXT, atoms, max_size=3)),
    st.tuples(st.just("views")), st.tuples(st.just("keys_algebra"), st.sets(TEXT, max_size=3)),
    st.tuples(st.just("items_algebra"), st.sets(st.tuples(TEXT, atoms), max_size=2)),
    st.tuples(st.just("contains"), TEXT), st.tuples(st.just("copy")),
    st.tuples(st.just("fromkeys"), st.lists(TEXT, max_size=3)), st.tuples(st.just("clear")),
)


def _dict_op(target: Any, op: tuple[Any, ...]) -> Any:
    name, *args = op
    if name == "setitem":
        target[args[0]] = args[1]
        return None
    if name == "getitem":
        return target[args[0]]
    if name == "delitem":
        del target[args[0]]
        return None
    if name == "contains":
        return args[0] in target
    if name == "update_bad":
        return target.update(args[0])
    if name == "ior":
        target |= args[0]
        return None
    if name == "or":
        return target | args[0]
    if name == "ror":
        return args[0] | target
    if name == "eq":
        return (target == args[0], args[0] == target, target != args[0])
    if name == "views":
        keys, items, vals = target.keys(), target.items(), target.values()
        return (repr(keys), repr(items), repr(vals), len(keys), list(reversed(keys)),
                list(reversed(target)), "a" in keys, ("a", 1) in items, 1 in vals)
    if name == "keys_algebra":
        keys, other = target.keys(), args[0]
        return (keys & other, keys | other, keys - other, keys ^ other, other - keys,
                list(other) | keys, keys == other, keys <= other, keys > other,
                keys.isdisjoint(other))
    if name == "items_algebra":
        items, other = target.items(), args[0]  # no ^, no other - items: they would store
        return (items & other, items - other, items == other, items >= other,  # host tuples
                items.isdisjoint(other))
    return getattr(target, name)(*args)


@SETTINGS
@given(ops=st.lists(DICT_OPS, max_size=12))
def test_dict_programs_match(ops: list[tuple[Any, ...]]) -> None:
    heap = gclab.Heap()
    host: dict[Any, Any] = {}
    proxy = heap.dict()
    for op in ops:
        host = _step(heap, proxy, host, op, _dict_op)
        assert list(proxy) == list(host), op
    check_invariants(heap)


# -- sets -----------------------------------------------------------------------------------------

SET_ATOMS = st.sampled_from([2, 3, "a", "b", None, b"x"])  # no 0/1: False/True would merge
OTHERS = st.one_of(st.sets(SET_ATOMS, max_size=3), st.frozensets(SET_ATOMS, max_size=3),
                   st.lists(SET_ATOMS, max_size=3), st.just([[1]]))
SET_OPS = st.one_of(
    st.tuples(st.sampled_from(["add", "discard", "remove", "contains"]), SET_ATOMS),
    st.tuples(st.sampled_from(["union", "intersection", "difference", "update",
                               "intersection_update", "difference_update"]),
              st.lists(OTHERS, max_size=2)),
    st.tuples(st.sampled_from(["symmetric_difference", "symmetric_difference_update",
                               "issubset", "issuperset", "isdisjoint"]), OTHERS),
    st.tuples(st.sampled_from(["or", "and", "sub", "xor", "ror", "rand", "rsub", "rxor", "ior",
                               "iand", "isub", "ixor", "eq", "ne", "lt", "le", "gt", "ge",
                               "proxy_ops"]), OTHERS),
    st.tuples(st.sampled_from(["copy", "clear", "len"])),
)
_OPERATORS = {"or": operator.or_, "and": operator.and_, "sub": operator.sub,
              "xor": operator.xor, "eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
              "le": operator.le, "gt": operator.gt, "ge": operator.ge}
_IN_PLACE = {"ior": operator.ior, "iand": operator.iand, "isub": operator.isub,
             "ixor": operator.ixor}


def _set_op(target: Any, op: tuple[Any, ...], make: Callable[[Any], Any]) -> Any:
    name, *args = op
    if name == "contains":
        return args[0] in target
    if name == "len":
        return len(target)
    if name in _OPERATORS:
        return _OPERATORS[name](target, args[0])
    if name.startswith("r") and name[1:] in _OPERATORS:
        return _OPERATORS[name[1:]](args[0], target)
    if name in _IN_PLACE:
        result = _IN_PLACE[name](target, args[0])
        return result is target
    if name == "proxy_ops":  # the other operand as a set of the same kind (real or simulated)
        other = make(args[0]) if not isinstance(args[0], list) or args[0] != [[1]] else set()
        return (target | other, target & other, target - other, target ^ other,
                target <= other, target == other, other > target)
    if name in ("union", "intersection", "difference", "update", "intersection_update",
                "difference_update"):
        return getattr(target, name)(*args[0])
    return getattr(target, name)(*args)


@SETTINGS
@given(start=st.lists(SET_ATOMS, max_size=4), ops=st.lists(SET_OPS, max_size=10))
def test_set_programs_match(start: list[Any], ops: list[tuple[Any, ...]]) -> None:
    heap = gclab.Heap()
    host, proxy = set(start), heap.set(start)
    for op in ops:
        host = _step(heap, proxy, host, op, lambda target, op: _set_op(
            target, op, set if isinstance(target, set) else heap.set))
    check_invariants(heap)


def test_host_containers_are_not_stored_by_set_algebra() -> None:
    """A result can only hold atoms and heap objects: ``d.items() ^ {("a", 1)}`` cannot store
    the host tuple (CPython can); the error says what to do, and nothing changes."""
    heap = gclab.Heap()
    d = heap.dict(b=2)
    items = d.items()
    with unchanged(heap), pytest.raises(TypeError, match=r"got a host tuple .*heap\.list"):
        items ^ {("a", 1)}
    pair = heap.tuple(["a", 1])
    assert to_host(items ^ {pair}) == {("a", 1), ("b", 2)}
    assert to_host(d.items() ^ {("b", 2)}) == set()  # equal elements cancel: nothing stored


def test_set_pop_takes_an_element() -> None:
    heap = gclab.Heap()
    proxy = heap.set(["a", "b"])
    taken = proxy.pop()
    assert taken in {"a", "b"} and to_host(proxy) == {"a", "b"} - {taken}
    proxy.clear()
    assert outcome(proxy.pop) == outcome(set().pop)


# -- who builds the result, and what a proxy stands for -------------------------------------------


def test_results_involving_a_proxy_are_simulated_objects() -> None:
    heap = gclab.Heap()
    lst, tup, d, s = heap.list([1]), heap.tuple([1]), heap.dict(a=1), heap.set([1])
    results = {"[0] + lst": ([0] + lst, ListProxy), "lst + [0]": (lst + [0], ListProxy),  # noqa: RUF005
               "2 * lst": (2 * lst, ListProxy), "lst[:]": (lst[:], ListProxy),
               "(0,) + tup": ((0, *tup), tuple), "tup + (0,)": (tup + (0,), TupleProxy),  # noqa: RUF005
               "{0} | s": ({0} | s, SetProxy), "s - {1}": (s - {1}, SetProxy),
               "{'b': 2} | d": ({"b": 2} | d, DictProxy), "d.keys() | {2}": (d.keys() | {2},
                                                                           SetProxy)}
    for name, (result, expected_type) in results.items():
        assert isinstance(result, expected_type), name
    assert isinstance((0,) + tup, TupleProxy)  # noqa: RUF005
    live = heap.table.live
    del results
    assert heap.table.live < live  # the results were heap objects, freed with their proxies


def test_type_names_are_the_simulated_types() -> None:
    heap = gclab.Heap()
    for proxy, host in ((heap.list(), []), (heap.tuple([1]), (1,)), (heap.dict(), {}),
                        (heap.set(), set())):
        assert type(proxy).__name__ == type(host).__name__
        assert outcome(lambda proxy=proxy: proxy.missing) == outcome(
            lambda host=host: host.missing)
    d = heap.dict(a=1)
    assert [type(v).__name__ for v in (d.keys(), d.values(), d.items())] == [
        "dict_keys", "dict_values", "dict_items"]


def test_instances_compare_by_identity_unless_the_class_says_otherwise() -> None:
    heap = gclab.Heap()

    @heap.cls
    class Plain:
        pass

    @heap.cls
    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Point) and other.x == self.x

        def __hash__(self) -> int:
            return hash(self.x)

    a, b = Plain(), Plain()
    assert a == a and a != b and len({a, b, a}) == 2
    assert Point(1) == Point(1) and Point(1) != Point(2) and len({Point(1), Point(1)}) == 1
    assert heap.list([Point(1)]) == [Point(1)] and heap.list([a]) != [b]


def test_views_are_live() -> None:
    heap = gclab.Heap()
    d = heap.dict(a=1)
    keys, values, items = d.keys(), d.values(), d.items()
    d["b"] = 2
    assert (list(keys), list(values), list(items)) == (["a", "b"], [1, 2], [("a", 1), ("b", 2)])
    assert keys.mapping is d
    with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
        for key in keys:
            d[key + "!"] = 0
    s = heap.set([1])
    with pytest.raises(RuntimeError, match="Set changed size during iteration"):
        for item in s:
            s.add(item + 1)


def test_sort_is_stable_and_leaves_the_list_alone_when_a_key_fails() -> None:
    heap = gclab.Heap()
    a, b, c = heap.list([1]), heap.list([1]), heap.list([0])
    lst = heap.list([a, b, c])
    counts = [heap.getrefcount(x) for x in (a, b, c)]
    lst.sort()
    assert lst[0] is c and lst[1] is a and lst[2] is b  # equal items keep their order
    assert [heap.getrefcount(x) for x in (a, b, c)] == counts

    def bad_key(value: object) -> int:
        raise ValueError("no key")

    with unchanged(heap), pytest.raises(ValueError, match="no key"):
        lst.sort(key=bad_key)
    with pytest.raises(ValueError, match="list modified during sort"):
        lst.sort(key=lambda v: lst.append(0) or 0)
