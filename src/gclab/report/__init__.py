"""Reports built from snapshots and their analyses (``gclab report``).

A report is built in two steps so that each can be tested alone: :mod:`.model` turns a
snapshot and the results of its analyses (``docs/design/snapshots.md``) into a
:class:`~.model.ReportModel` of plain, JSON-ready values, bounded in size whatever the
snapshot's size; :mod:`.html` renders that model as one self-contained HTML page.
"""

from __future__ import annotations

from .html import render_html, write_html
from .model import Limits, ReportModel, build_model, model_from_results
from .timeline import read_monitor

__all__ = ["Limits", "ReportModel", "build_model", "model_from_results", "read_monitor",
           "render_html", "write_html"]
