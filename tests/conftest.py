"""Test helper modules in this directory (``heapstate``, ``proxy_support``) are imported
by plain name."""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
