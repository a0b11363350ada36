# ruff: noqa  -- runs on Python 2.7 as well: old-style syntax on purpose
# A child process for tests/test_garbage_real.py, run by every local interpreter (2.7, 3.8+):
# build a heap with garbage cycles, dump it with the standard library only, then let the real
# collector run with gc.DEBUG_SAVEALL and write the id()s of gc.garbage.
#
#   python garbage_child.py DUMP FREED.json [resurrect] [agent=PATH/agent.py]
#
# With agent=..., DUMP is a raw dump of gclab's capture agent; else this file's JSON dump.
#
# Written for 2.7 as well as 3.x: no f-strings, no annotations.
import gc
import json
import sys
import weakref




class Node(object):
    def __init__(self, name):
        self.name = name
        self.other = None


class Slotted(object):
    __slots__ = ("peer", "payload", "__weakref__")


class Finalized(object):
    def __init__(self):
        self.other = None

    def __del__(self):  # runs during the collection; resurrects nothing
        pass


class Resurrector(object):
    saved = []

    def __del__(self):
        Resurrector.saved.append(self)


LIVE = []
HOLD = {}


def make_heap(resurrect):
    for i in range(5):  # plain garbage cycles of two instances, with unique strings
        a, b = Node("a" * 40 + str(i)), Node("b" * 40 + str(i))
        a.other, b.other = b, a
    ring = [Node(str(i)) for i in range(4)]  # a 4-ring of instances, one referencing a list
    for x, y in zip(ring, ring[1:] + ring[:1]):
        x.other = y
    ring[0].payload = [1, 2, (3, "three"), {"k": [4]}]
    del ring
    s, t = Slotted(), Slotted()  # __slots__ cycle holding a weak reference to a live object
    s.peer, t.peer = t, s
    keep = Node("kept")
    LIVE.append(keep)
    s.payload = weakref.ref(keep)
    t.payload = weakref.ref(s, lambda r: None)  # a weakref with a callback into the garbage
    del s, t
    f, g = Finalized(), Finalized()  # a cycle with __del__ (PEP 442: collected on 3.4+)
    f.other, g.other = g, f
    del f, g
    d = {}
    d["self"] = d  # a dict referring to itself
    del d
    lst = []
    lst.append(lst)  # and a list
    del lst

    def outer():
        def inner():
            return inner  # a closure cycle: function -> cell -> function
        return inner
    outer()
    live_a, live_b = Node("live-a"), Node("live-b")  # a cycle held from a live global
    live_a.other, live_b.other = live_b, live_a
    HOLD["cycle"] = live_a
    wd = weakref.WeakValueDictionary()
    w1, w2 = Node("w1"), Node("w2")  # garbage held only weakly from a live mapping
    w1.other, w2.other = w2, w1
    wd["w"] = w1
    LIVE.append(wd)
    del w1, w2, wd
    if resurrect:
        r1, r2 = Resurrector(), Resurrector()
        r1.other, r2.other = r2, r1
        del r1, r2


def type_name(obj):
    cls = type(obj)
    return "%s.%s" % (cls.__module__, getattr(cls, "__qualname__", cls.__name__))


def dump(path):
    """Every tracked object by generation, the untracked objects they reach, the references
    (gc.get_referents: tp_traverse) and reference counts without the dump's own."""
    objs = []
    gens = []
    starts = [0]
    targets = []
    index = {}
    if sys.version_info >= (3, 8):
        for generation in range(3):
            part = gc.get_objects(generation=generation)
            objs.extend(part)
            gens.extend([generation] * len(part))
            del part
    else:
        part = gc.get_objects()  # (not objs.extend(gc.get_objects()): that bound method
        objs.extend(part)        # would be listed, held by nothing else once the call ends)
        gens.extend([2] * len(part))
        del part
    own = set([id(objs), id(gens), id(starts), id(targets), id(index)])  # the dump's own
    own.add(id(own))  # (its containers exist before gc.get_objects runs: leave them out)
    mine = [k for k in range(len(objs)) if id(objs[k]) in own]
    for k in reversed(mine):
        del objs[k]
        del gens[k]
    for i in range(len(objs)):
        index[id(objs[i])] = i
    i = 0
    while i < len(objs):
        refs = gc.get_referents(objs[i])
        for k in range(len(refs)):
            if id(refs[k]) in own:
                continue
            j = index.get(id(refs[k]))
            if j is None:
                j = len(objs)
                index[id(refs[k])] = j
                objs.append(refs[k])
                gens.append(-1)
            targets.append(j)
        del refs
        starts.append(len(targets))
        i += 1
    probe = [None]
    objs.append(probe)  # its true count is 1 (this local): the overhead of getrefcount
    overhead = sys.getrefcount(objs[-1]) - 2
    refcount = []
    for i in range(len(objs) - 1):
        refcount.append(sys.getrefcount(objs[i]) - 1 - overhead)
    objs.pop()
    del probe
    finalizer = [int(hasattr(type(o), "__del__")) for o in objs]
    is_finalized = getattr(gc, "is_finalized", None)
    finalized = [int(is_finalized(o)) if is_finalized else 0 for o in objs]
    out = {"python": "%d.%d.%d" % tuple(sys.version_info[:3]),
           "address": [id(o) for o in objs], "type": [type_name(o) for o in objs],
           "size": [sys.getsizeof(o) for o in objs], "refcount": refcount,
           "generation": gens, "tracked": [int(gc.is_tracked(o)) for o in objs],
           "finalizer": finalizer, "finalized": finalized,
           "ref_start": starts, "ref_target": targets}
    o = None  # (2.7: a comprehension's variable stays in the frame)
    del objs[:]
    index.clear()
    text = json.dumps(out)  # one shot: the C encoder, no closures (cyclic garbage) made
    with open(path, "w") as stream:
        stream.write(text)


def main():
    gc.disable()  # nothing may be collected before the dump
    make_heap("resurrect" in sys.argv[3:])
    agents = [a[len("agent="):] for a in sys.argv[3:] if a.startswith("agent=")]
    if agents:  # gclab's capture agent (snapshots/agent.py, stdlib only) loaded by its path
        import importlib.util
        spec = importlib.util.spec_from_file_location("gclab_agent", agents[0])
        agent = importlib.util.module_from_spec(spec)
        sys.modules["gclab_agent"] = agent  # kept: a dropped module would be garbage itself
        spec.loader.exec_module(agent)
        del spec
        agent.dump(sys.argv[1])
        del agent
    else:
        dump(sys.argv[1])
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.collect()
    freed = [id(o) for o in gc.garbage]
    with open(sys.argv[2], "w") as stream:
        stream.write(json.dumps(freed))


if __name__ == "__main__":  # pytest --doctest-modules imports this file: run nothing then
    main()
