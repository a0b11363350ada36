"""Named regression programs taken from the spec experiments (docs/spec/experiments).

They run through the same two renderers as the random programs and are compared field by
field with the real interpreter of each profile (never with stored values). Programs whose
scenario needs something an interpreter lacks are simply not run there (``gc.freeze`` on 2.7).
"""

from __future__ import annotations

import pytest
from diff_compare import check_batch
from diff_programs import (
    Collect,
    Count,
    Debug,
    Del,
    DelAttr,
    Frame,
    Link,
    Many,
    New,
    Op,
    Program,
    Referents,
    Unlink,
)


def _program(name: str, ops: list[Op], auto: tuple[int, int, int] | None = None,
             frames: tuple[Frame, ...] = ()) -> Program:
    """A program whose teardown deletes every variable still bound at the end."""
    alive: list[str] = []
    for op in ops:
        if isinstance(op, New) and op.var not in alive:
            alive.append(op.var)
        elif isinstance(op, Del):
            alive.remove(op.var)
    return Program(name, tuple(ops), tuple(alive), auto, frames)


def _frame(index: int, body: list[Op]) -> Frame:
    made = tuple(dict.fromkeys(op.var for op in body if isinstance(op, New)))
    return Frame(index, tuple(body), made)


def _cycle(a: str, b: str, kind: str = "P", key: str = "a") -> list[Op]:
    return [New(a, kind), New(b, kind), Link(a, key, b), Link(b, key, a)]


def e1_seed() -> Program:
    return _program("e1", [New("v1", "list"), Link("v1", "append", "v1"), New("v2", "dict"),
                           New("v3", "dict"), Link("v2", "k0", "v3"), Link("v3", "k0", "v2"),
                           Del("v1"), Del("v2"), Del("v3"), Collect(2), Collect(2)])


def e2_instance_cycles() -> Program:
    return _program("e2", [*_cycle("v1", "v2"), Del("v1"), Del("v2"), Collect(2),
                           New("v3", "P"), Link("v3", "a", "v3"), Del("v3"), Collect(2),
                           *_cycle("v4", "v5", "S"), Del("v4"), Del("v5"), Collect(2),
                           New("v6", "P"), New("v7", "list"), Link("v7", "append", "v6"),
                           Link("v6", "a", "v7"), Del("v6"), Del("v7"), Collect(2)])


def e4_resurrection() -> Program:
    return _program("e4", [*_cycle("v1", "v2", "D"), Del("v1"), Del("v2"), Collect(2),
                           New("v3", "R"), Link("v3", "a", "v3"), Del("v3"), Collect(2),
                           Collect(2), New("v4", "P"), New("v5", "R"), Link("v4", "a", "v5"),
                           Link("v5", "a", "v4"), Del("v4"), Del("v5"), Collect(2)])


def e5_weakref_callbacks() -> Program:
    return _program("e5", [*_cycle("v1", "v2"), New("w1", "weakref", ("v1",), True),
                           New("w2", "weakref", ("v1",), True),
                           New("w3", "weakref", ("v2",), True),
                           New("w4", "weakref", ("v2",), True), Del("v1"), Del("v2"),
                           Collect(2), New("v5", "P"), Link("v5", "a", "v5"),
                           New("w5", "weakref", ("v5",)), Link("v5", "b", "w5"),
                           Del("w5"), Del("v5"), Collect(2)])


def e10_order_across_generations() -> list[Program]:
    def run(kind: str, saveall: bool) -> list[Op]:
        return [*_cycle("x1", "x2", kind, "append" if kind == "list" else "a"), Collect(1),
                *_cycle("y1", "y2", kind, "append" if kind == "list" else "a"), Collect(0),
                *_cycle("z1", "z2", kind, "append" if kind == "list" else "a"),
                *(Del(v) for v in ("x1", "x2", "y1", "y2", "z1", "z2")),
                Debug(saveall), Collect(2), Debug(False)]
    single = [New("c", "D"), New("b", "D"), New("a", "D"), Link("a", "a", "b"),
              Link("b", "a", "c"), Link("c", "a", "a"), Del("a"), Del("b"), Del("c"),
              Collect(2)]
    return [_program("e10-lists", run("list", True)), _program("e10-del", run("D", False)),
            _program("e10-single", single)]


def e13_untracking() -> Program:
    return _program("e13", [New("t1", "tuple", ("ONE", "ONE")), New("x1", "list"),
                            New("t2", "tuple", ("ONE", "x1")), New("t3", "tuple", ("ONE",)),
                            New("t4", "tuple", ("t3", "ONE")), Collect(0),
                            New("d1", "dict"), New("d2", "dict"), Link("d2", "k0", "x1"),
                            Unlink("d2", "k0"), Collect(0), Collect(1),
                            New("d3", "dict"), Link("d3", "k0", "t1"), Link("d1", "k0", "d3")])


def e14_reordering() -> Program:
    return _program("e14", [New("A", "P"), New("B", "P"), New("C", "P"), Link("B", "a", "A"),
                            Link("C", "a", "B"), New("root", "list"),
                            Link("root", "append", "C"), Del("A"), Del("B"), Del("C"),
                            Collect(0)])


def e18_trashcan(levels: int = 120) -> Program:
    ops: list[Op] = []
    for i in reversed(range(levels)):
        ops += [New(f"d{i}", "D"), New(f"v{i}", "list"), Link(f"v{i}", "append", f"d{i}"),
                Del(f"d{i}")]
        if i + 1 < levels:
            ops += [Link(f"v{i}", "append", f"v{i + 1}"), Del(f"v{i + 1}")]
    return _program("e18", [*ops, Del("v0")])


def e19_uncounted_frees() -> Program:
    return _program("e19", [New("v1", "list"), New("v2", "dict"), New("v3", "tuple", ("ONE",)),
                            Link("v1", "append", "v2"), Link("v1", "append", "v3"),
                            Link("v1", "append", "v1"), Del("v1"), Del("v2"), Del("v3"),
                            Collect(2), New("x", "list"), Collect(0), New("y", "list"),
                            Link("y", "append", "x"), Link("x", "append", "y"), Del("x"),
                            Del("y"), Collect(0), Collect(1)])


def e23_legacy() -> Program:
    return _program("e23", [New("d", "D"), New("p", "P"), Link("d", "a", "p"),
                            Link("p", "a", "d"), New("p2", "P"), Link("d", "b", "p2"),
                            New("c", "P"), Link("c", "a", "c"),
                            *(Del(v) for v in ("d", "p", "p2", "c")), Collect(2), Collect(2)])


def e25_legacy_hanging_off_garbage() -> Program:
    return _program("e25", [New("h", "P"), Link("h", "a", "h"), New("g", "SD"),
                            Link("h", "b", "g"), Del("g"), Del("h"), Collect(2)])


def e29_weakref_migrates() -> Program:
    return _program("e29", [New("r", "Y"), New("w", "weakref", ("r",), True), Collect(2),
                            Del("r"), Collect(0)])


def e8_automatic_rhythm() -> Program:
    ops: list[Op] = [New("keep", "list")]
    for i in range(40):
        ops += [New(f"x{i}", "list"), Link("keep", "append", f"x{i}"), Del(f"x{i}")]
        if i % 3 == 0:
            ops += [New(f"c{i}", "P"), Link(f"c{i}", "a", f"c{i}"), Del(f"c{i}")]
    return _program("e8", ops, auto=(5, 2, 1000))


# -- issue #7: gaps to CPython (docs/cpython-gaps.md has the measurements) ----------------------


def gap1_shared_keys_run_out() -> list[Program]:
    """3.11+: 30 instances use up the class's shared keys; the next new attribute name gives
    the instance a real __dict__ (collect -> 2), holding the attributes in the instance's
    insertion order; a failed ``del`` takes a shared-keys entry, and with none left makes the
    __dict__ on 3.11/3.12."""
    full = [Many("P", 30, ("t",)), New("y", "P"), Referents("y"), Link("y", "c", "y"),
            Referents("y"), Del("y"), Collect(2)]
    order = [Many("P", 40, ("a", "b")), New("y", "P"), New("d1", "D"), New("d2", "D"),
             New("d3", "D"), New("d4", "D"), Link("y", "b", "d1"), Link("y", "a", "d2"),
             Referents("y"), Link("y", "c", "d3"), Referents("y"), Link("y", "b", "d4"),
             Del("d1"), Del("d2"), Del("d3"), Del("d4"), Del("y"), Collect(2)]
    deleted = [Many("P", 40, ("a", "b")), New("y", "P"), New("d1", "D"), New("d2", "D"),
               New("d3", "D"), Link("y", "a", "d1"), Link("y", "b", "d2"),
               DelAttr("y", "a"), Link("y", "a", "d3"), Link("y", "c", "y"), Del("d1"),
               Del("d2"), Del("d3"), Del("y"), Collect(2)]
    failed_full = [Many("P", 40, ("a",)), New("y", "P"), DelAttr("y", "q", missing=True),
                   Link("y", "a", "y"), Del("y"), Collect(2)]
    failed_takes = [Many("P", 26, ("t",)), New("y", "P"), DelAttr("y", "q", missing=True),
                    Link("y", "a", "y"), Del("y"), Collect(2)]
    return [_program("gap1-full", full), _program("gap1-order", order),
            _program("gap1-deleted", deleted), _program("gap1-failed-del-full", failed_full),
            _program("gap1-failed-del-takes-a-key", failed_takes)]


def gap2_frame_slots() -> Program:
    """Locals are released in slot order on return; a local deleted and bound again keeps
    its first slot; a local deleted for good is an empty slot."""
    body: list[Op] = [New("la", "D"), New("lb", "D"), New("lc", "D"), Del("la"),
                      New("la", "D"), Del("lc"), New("ld", "D")]
    call = _frame(0, body)
    return _program("gap2", [New("v", "list"), Link("v", "append", "v"), call, Collect(2)],
                    frames=(call,))


def gap3_weakref_tuple() -> list[Program]:
    """PyObject_ClearWeakRefs allocates a (ref, callback) tuple for >= 2 callback refs
    (3.13: >= 1): count[0] sees it, and it can trigger a collection."""
    two = [New("x", "P"), New("w1", "weakref", ("x",), True),
           New("w2", "weakref", ("x",), True), Count(), Del("x"), Count()]
    # the size-2 free list holds weakref.ref's argument tuple: t takes it back first
    one = [New("x", "P"), New("w1", "weakref", ("x",), True), New("t", "tuple", ("ONE",)),
           Count(), Del("x"), Count()]
    auto = [New("keep", "list"), New("x", "P"), New("y", "P"), Link("y", "a", "y"),
            New("w1", "weakref", ("x",), True), New("w2", "weakref", ("x",), True),
            New("w3", "weakref", ("x",), True), Del("y"), Count(), Del("x"), Count()]
    return [_program("gap3-two", two), _program("gap3-one", one),
            _program("gap3-auto", auto, auto=(4, 1, 1000))]


def _chain(prefix: str, length: int) -> list[Op]:
    """``prefix0 -> prefix1 -> ...`` of SD instances (__slots__ and __del__), only the head
    still named."""
    ops: list[Op] = [New(f"{prefix}0", "SD")]
    for i in range(1, length):
        ops += [New(f"{prefix}{i}", "SD"), Link(f"{prefix}{i - 1}", "a", f"{prefix}{i}")]
        if i > 1:
            ops.append(Del(f"{prefix}{i - 1}"))
    return [*ops, Del(f"{prefix}{length - 1}")]


def gap4_return_drains_trashcan() -> list[Program]:
    """2.7: an instance chain dropped inside a function is finalized and freed by the
    return (frame_dealloc drains the trashcan); at top level the deferred tail waits for the
    next container freed at nesting 0 (here gc.collect(0)'s argument tuple)."""
    call = _frame(0, [*_chain("l", 61), Del("l0")])
    in_function = _program("gap4-function", [call, New("m", "D"), Del("m"), Collect(0)],
                           frames=(call,))
    top = _program("gap4-top-level", [*_chain("c", 61), Del("c0"), New("m", "D"), Del("m"),
                                      Collect(0), New("m2", "D"), Del("m2")])
    return [in_function, top]


def e18_in_a_frame(levels: int = 120) -> Program:
    """e18 released by a return: 2.7 and 3.10 release locals inside frame_dealloc's trashcan
    bracket (one level deeper than ``del``), 3.11+ outside any bracket."""
    body: list[Op] = []
    for i in reversed(range(levels)):
        body += [New(f"ld{i}", "D"), New(f"lv{i}", "list"), Link(f"lv{i}", "append", f"ld{i}"),
                 Del(f"ld{i}")]
        if i + 1 < levels:
            body += [Link(f"lv{i}", "append", f"lv{i + 1}"), Del(f"lv{i + 1}")]
    call = _frame(0, body)
    return _program("e18-frame", [call], frames=(call,))


def gap5_split_order() -> Program:
    """3.10: the class's shared keys are a, b (from x); y stores b then a and releases them in
    that order (its table is combined); 3.11+ keep the shared order for inline values."""
    return _program("gap5", [New("x", "P"), New("o", "list"), Link("x", "a", "o"),
                             Link("x", "b", "o"), New("y", "P"), New("d1", "D"), New("d2", "D"),
                             Link("y", "b", "d1"), Link("y", "a", "d2"), Referents("y"),
                             Del("d1"), Del("d2"), Del("y")])


def tuple_free_list_sizes() -> Program:
    """A freed 20-item tuple is kept on a free list by 3.11+ (count[0] keeps it), not by
    2.7/3.10; only 3.13 takes it back for the next 20-item tuple."""
    return _program("tuple-free-list-20", [New("t", "tuple", ("ONE",) * 19), Count(),
                                           Del("t"), Count(), New("u", "tuple", ("ONE",) * 19),
                                           Count()])


# Programs whose instances hold several objects in their __dict__: 2.7 orders that dict by
# string hash, which gclab does not model.
HASH_ORDERED = frozenset({"gap1-order", "gap1-deleted", "gap5"})

REGRESSIONS: list[Program] = [
    e1_seed(), e2_instance_cycles(), e4_resurrection(), e5_weakref_callbacks(),
    *e10_order_across_generations(), e13_untracking(), e14_reordering(), e18_trashcan(),
    e19_uncounted_frees(), e23_legacy(), e25_legacy_hanging_off_garbage(),
    e29_weakref_migrates(), e8_automatic_rhythm(),
    *gap1_shared_keys_run_out(), gap2_frame_slots(), *gap3_weakref_tuple(),
    *gap4_return_drains_trashcan(), e18_in_a_frame(), gap5_split_order(),
    tuple_free_list_sizes(),
]


@pytest.mark.parametrize("profile", ("2.7", "3.10", "3.11", "3.12", "3.13"))
def test_spec_experiments_agree_with_real_interpreter(profile: str) -> None:
    """The experiment-derived programs give the same records in both worlds."""
    batch = [p for p in REGRESSIONS
             if not (profile in ("2.7", "3.10") and p.auto)
             and not (profile == "2.7" and (p.name == "e29" or p.name in HASH_ORDERED))]
    check_batch(profile, batch)


def test_regression_programs_exercise_what_they_claim() -> None:
    """Sanity: the trashcan program really has a 120-deep chain, e8 runs automatically."""
    names = {p.name: p for p in REGRESSIONS}
    assert sum(isinstance(op, New) and op.kind == "D" for op in names["e18"].ops) == 120
    assert names["e8"].auto == (5, 2, 1000)
