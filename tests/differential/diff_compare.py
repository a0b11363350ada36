"""Generating batches of programs and comparing the two worlds' records."""

from __future__ import annotations

import os
from typing import Any

import pytest
from diff_gclab import run_gclab
from diff_programs import Flavor, Program, programs
from diff_real import interpreter, render, run_real
from hypothesis import HealthCheck, Phase, given, settings

# Fields compared on every interpreter, and those only where counts are not noisy (3.11+).
ALWAYS = ("error", "ret", "log", "cb", "objs", "garb", "garb_end", "refs")
COUNTED = ("cnt", "ev")


def flavor(profile: str) -> Flavor:
    """What programs may do on ``profile``'s interpreter."""
    modern = profile not in ("2.7", "3.10")
    return Flavor(profile, auto=modern, freeze=profile != "2.7")


def generate(profile: str, count: int, max_ops: int = 25) -> list[Program]:
    """``count`` programs for ``profile``, reproducibly (derandomized Hypothesis)."""
    found: list[Program] = []

    @settings(max_examples=count, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), deadline=None)
    @given(programs(flavor(profile), max_ops))
    def collect(program: Program) -> None:
        found.append(program)

    collect()
    return [Program(f"{profile}-{i}", p.ops, p.global_vars, p.auto, p.frames)
            for i, p in enumerate(found)]


def compared_fields(profile: str) -> tuple[str, ...]:
    """The record fields that must agree on ``profile``."""
    return ALWAYS + (COUNTED if flavor(profile).auto else ())


def differences(real: dict[str, Any], sim: dict[str, Any], profile: str) -> dict[str, Any]:
    """Field -> (real, gclab) for every compared field that differs."""
    out = {}
    for key in compared_fields(profile):
        if real.get(key) != sim.get(key):
            out[key] = (real.get(key), sim.get(key))
    return out


def real_command(profile: str) -> list[str]:
    """The interpreter of ``profile``, or skip the test."""
    command = interpreter(profile)
    if command is None:
        pytest.skip(f"no Python {profile} interpreter on this machine")
    return command


def check_batch(profile: str, batch: list[Program]) -> None:
    """Run ``batch`` in both worlds; fail listing the first disagreements with sources."""
    results = run_real(real_command(profile), batch, profile)
    failures = []
    for program, real in zip(batch, results, strict=True):
        diff = differences(real, run_gclab(program, profile), profile)
        if diff:
            failures.append((program, diff))
    if failures:
        lines = [f"{len(failures)} of {len(batch)} programs disagree with real {profile}"]
        for program, diff in failures[:3]:
            lines.append(f"--- {program.name} (auto={program.auto}):\n{render(program, profile)}")
            lines.extend(f"    {k}: real={r!r}\n    {' ' * len(k)}  gclab={s!r}"
                         for k, (r, s) in diff.items())
        pytest.fail("\n".join(lines), pytrace=False)


def examples(default: int) -> int:
    """Programs per interpreter: ``GCLAB_DIFF_EXAMPLES`` overrides the CI default."""
    return int(os.environ.get("GCLAB_DIFF_EXAMPLES", default))
