"""The benchmark harness runs end to end at tiny sizes (no timing is asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_harness_measures_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    rows = [ln for ln in result.stdout.splitlines() if ln.startswith("| ") and "---" not in ln]
    figures = " ".join(rows)
    for figure in (
        "requests for a plan",
        "plan wall time",
        "in-process",
        "growth of plan cost",
        "config load included, fresh process",
        "served sandbox",
        "`plan --merchant` of one merchant",
        "Terraform-style refresh",
        "CLI plan peak memory",
        "pre-seeded state",
        "rate announced",
        "no rate header",
        "validate of",
        "--help",
    ):
        assert figure in figures, figure
    applies = [r for r in rows if "| apply of" in r]
    assert len(applies) == 3
    assert all(", 0 failed," in r for r in applies)
    merchant = next(r for r in rows if "`plan --merchant`" in r)
    assert "| yes |" in merchant  # request counts are not timing: the bound holds at any size
