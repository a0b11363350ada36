"""The report as one self-contained HTML page.

The page is the model (:class:`~gclab.report.model.ReportModel`) as one JSON blob in a
``<script type="application/json">`` element, the stylesheet ``page.css`` and the script
``page.js`` of this package, all inline: it opens from a file, offline, and loads nothing
from the network. The script draws every section from the blob (the dominator tree lazily,
one level per click); text from the heap is only ever set as text, never as markup.

>>> from gclab.report.model import ReportModel
>>> model = ReportModel(summary={"process": "demo"}, suspects=[], tree={}, types=[],
...                     histogram={}, garbage={})
>>> page = render_html(model)
>>> offline = page.replace(_SVG_NS, "")
>>> page.startswith("<!DOCTYPE html>"), any(s in offline for s in ("http:", "https:", "src="))
(True, False)
>>> embedded_data(page)["summary"]
{'process': 'demo'}
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import SnapshotFileError
from ..snapshots.files import publish
from .model import ReportModel

_SVG_NS = "http://www.w3.org/2000/svg"   # a namespace name in page.js, never fetched

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>gclab heap report</title>
<style>
__CSS__
</style>
</head>
<body>
<header><h1 id="title">Heap report</h1><div class="sub" id="subtitle"></div></header>
<nav><a href="#summary">Summary</a><a href="#suspects">Leak suspects</a>
<a href="#tree">Dominator tree</a><a href="#histogram">Types</a>
<a href="#garbage">Garbage</a><a href="#diff">Diff</a><a href="#timeline">GC pauses</a></nav>
<main>
<section id="summary"><h2>Summary</h2>
<p class="lead">The captured process and its heap.</p><div id="summary-body"></div></section>
<section id="suspects"><h2>Leak suspects</h2>
<p class="lead">Objects that retain 10 % or more of the heap (Eclipse MAT's rule), the point
where the memory accumulates (the first dominated object that retains less than 70 % of its
dominator), and the shortest path that keeps each alive.</p><div id="suspects-body"></div>
</section>
<section id="tree"><h2>Dominator tree</h2>
<p class="lead">Each object under the one that dominates it (every path from a root passes
through it); retained = the bytes freed if that object were freed. Children are sorted by
retained size; click a row to expand it.</p><div id="tree-body"></div></section>
<section id="histogram"><h2>Types</h2>
<p class="lead">Objects by type; click a column to sort. A type's retained bytes count each
object once (objects dominated by one of the same type are not added again).</p>
<div id="histogram-body"></div></section>
<section id="garbage"><h2>Garbage dry run</h2>
<p class="lead">What a full <code>gc.collect()</code> would free now, computed with CPython's
own collector phases on the captured graph, grouped into strongly connected components.</p>
<div id="garbage-body"></div></section>
<section id="diff"><h2>Diff</h2>
<p class="lead">The first snapshot against the last: objects by identity (address and type)
and by type.</p><div id="diff-body"></div></section>
<section id="timeline"><h2>GC pauses</h2>
<p class="lead">The real collector's pauses over time, per generation.</p>
<div id="timeline-body"></div></section>
</main>
<footer>Made by gclab report. This page is self-contained: it needs no network.</footer>
<script type="application/json" id="gclab-data">__DATA__</script>
<script>
__JS__
</script>
</body>
</html>
"""


def _asset(name: str) -> str:
    """The text of this package's ``name`` (``page.css``, ``page.js``)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def embed_json(value: Any) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element: ``<``, ``>``, ``&`` and
    the JavaScript line separators are escaped, so no string can close the element.

    >>> embed_json({"a": "</script><b>"})
    '{"a":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False,
                      ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def render_html(model: ReportModel) -> str:
    """The page of ``model``: one HTML document with its data, style and script inline."""
    return (_TEMPLATE.replace("__CSS__", _asset("page.css"))
            .replace("__JS__", _asset("page.js"))
            .replace("__DATA__", embed_json(model.as_dict())))


def embedded_data(page: str) -> dict[str, Any]:
    """The model's dict embedded in a page made by :func:`render_html` (for tests and tools)."""
    start = page.index('id="gclab-data">') + len('id="gclab-data">')
    stop = page.index("</script>", start)
    data: dict[str, Any] = json.loads(page[start:stop])
    return data


def write_html(model: ReportModel, path: str | Path, *, overwrite: bool = False) -> int:
    """Write the page of ``model`` to ``path``; the number of bytes written.

    An existing file is replaced only when ``overwrite`` is true, else
    :class:`~gclab.errors.SnapshotFileError` and nothing is written. The file appears whole
    or not at all (written beside it, then renamed).
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise SnapshotFileError(f"{target} exists; pass --force (overwrite=True) to replace it")
    if target.is_dir():
        raise SnapshotFileError(f"{target} is a directory, not a file")
    data = render_html(model).encode("utf-8")
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    except OSError as error:
        raise SnapshotFileError(f"cannot write {target}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        publish(temporary, target, overwrite)
    except OSError as error:
        raise SnapshotFileError(f"cannot write {target}: {error.strerror or error}") from None
    finally:
        Path(temporary).unlink(missing_ok=True)
    return len(data)
