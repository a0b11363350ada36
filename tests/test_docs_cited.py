"""Every document the code and the docs cite is in this repository.

Citations are found in the sources, tests, benchmarks and documents: paths (``docs/...``,
``shared/...``, with or without a leading ``/work/``), spec sections (``spec §3.2``, ``§7.1``)
and spec experiments (``e14``, ``spec e2``). ``docs/...`` must exist; a section must be a heading
of ``docs/spec/cpython-gc.md``; an experiment must have its script and recorded output in
``docs/spec/experiments``. ``shared/...`` is outside the repository: no citation may point there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "docs" / "spec" / "cpython-gc.md"
EXPERIMENTS = ROOT / "docs" / "spec" / "experiments"

PATH = re.compile(r"(?<![\w./-])(?:/work/)?((?:docs|shared)/[\w./-]*\w)")
SECTION = re.compile(r"§§?\s?(\d+(?:\.\d+)?)")
EXPERIMENT = re.compile(r"(?<![\w-])(e\d{1,2}[a-z]?)(?!\w)")

# Cited documents known to be missing, each with why; its check must fail (strict xfail),
# so the entry goes once the document is added.
KNOWN_MISSING: dict[str, str] = {}

pytestmark = pytest.mark.skipif(not (ROOT / "src" / "gclab").is_dir(),
                                reason="needs the checkout's sources and docs")


def _sources() -> Iterator[Path]:
    """The files whose citations are checked (this file's own patterns excepted)."""
    for folder, pattern in [("src", "*.py"), ("tests", "*.py"), ("bench", "*.py"),
                            ("docs", "*.md")]:
        yield from sorted((ROOT / folder).rglob(pattern))
    yield ROOT / "README.md"


def citations(pattern: re.Pattern[str]) -> dict[str, list[str]]:
    """Each cited name matched by ``pattern`` -> where it is cited (``file:line``)."""
    found: dict[str, list[str]] = {}
    for path in _sources():
        if path == Path(__file__).resolve() or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in pattern.finditer(line):
                where = f"{path.relative_to(ROOT)}:{number}"
                found.setdefault(match.group(1), []).append(where)
    return found


def _cited_docs() -> list[object]:
    docs = sorted(p for p in citations(PATH) if p.startswith("docs/"))
    return [pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSING[p]))
            if p in KNOWN_MISSING else p for p in docs]


@pytest.mark.parametrize("cited", _cited_docs())
def test_cited_document_exists(cited: str) -> None:
    assert (ROOT / cited).exists(), f"{cited} cited at {citations(PATH)[cited]}"


def test_citations_found() -> None:
    """The scan sees the citations the sources are known to make (it is not vacuous)."""
    assert "docs/design/engine.md" in citations(PATH)
    assert {"3.2", "7.1"} <= set(citations(SECTION))
    assert {"e2", "e14"} <= set(citations(EXPERIMENT))


def test_no_citation_outside_the_repository() -> None:
    outside = {p: where for p, where in citations(PATH).items() if p.startswith("shared/")}
    assert outside == {}


def test_shared_spec_citations_have_their_copy() -> None:
    """Rewriting ``shared/spec/X`` to ``docs/spec/X`` gives an existing path."""
    shared = [p for p in citations(PATH) if p.startswith("shared/spec/")]
    assert [p for p in shared if not (ROOT / "docs" / p.removeprefix("shared/")).exists()] == []


def _spec_sections() -> set[str]:
    headings = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", SPEC.read_text(encoding="utf-8"),
                          re.MULTILINE)
    return set(headings)


def test_cited_spec_sections_exist() -> None:
    sections = _spec_sections()
    assert {"3", "3.2", "10"} <= sections
    missing = {s: where for s, where in citations(SECTION).items() if s not in sections}
    assert missing == {}


def _experiment_script(name: str) -> Path | None:
    """The script of experiment ``name``: ``e2b.py``, ``e23_py2.py``, or for a case of a
    script (``e4b``) the script (``e4.py``) that labels the case (``# 4b: ...``)."""
    for candidate in (EXPERIMENTS / f"{name}.py", EXPERIMENTS / f"{name}_py2.py"):
        if candidate.is_file():
            return candidate
    base = EXPERIMENTS / f"{name.rstrip('abcdefghijklmnopqrstuvwxyz')}.py"
    if name[-1].isalpha() and base.is_file() and f"# {name[1:]}:" in base.read_text():
        return base
    return None


def test_cited_experiments_exist_with_their_output() -> None:
    recorded = set(re.findall(r"^### (\S+)  \[", (EXPERIMENTS / "outputs.txt").read_text(),
                              re.MULTILINE))
    missing = {}
    for name, where in citations(EXPERIMENT).items():
        script = _experiment_script(name)
        if script is None or script.name not in recorded:
            missing[name] = where
    assert missing == {}


def test_experiments_folder_is_complete() -> None:
    """Every script has recorded output and every recorded output its script; the folder's
    README (how they were run) and run_all.sh are there."""
    recorded = set(re.findall(r"^### (\S+)  \[", (EXPERIMENTS / "outputs.txt").read_text(),
                              re.MULTILINE))
    scripts = {p.name for p in EXPERIMENTS.glob("e*.py")}
    assert scripts == recorded
    assert len(scripts) == 30  # e1..e29 and e2b
    assert (EXPERIMENTS / "README.md").is_file() and (EXPERIMENTS / "run_all.sh").is_file()
