"""The differential suite's helper modules (``diff_*.py``) are imported by plain name."""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
