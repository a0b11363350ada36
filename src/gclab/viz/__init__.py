"""Pictures of gclab's results, drawn with matplotlib's Agg renderer (no display needed).

Each module takes a result (never the thing that computed it) and writes a file:
:mod:`gclab.viz.gc_timeline` draws a :class:`~gclab.snapshots.monitor.GcReport`.
"""
