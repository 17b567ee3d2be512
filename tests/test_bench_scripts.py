"""Smoke test of ``bench/``: each section's ``results(quick=True)`` keeps the bench contract.

No timing is asserted (timings live in ``bench/RESULTS.md``): only that each section runs,
returns rows with the contract's keys and well-formed values, and that ``report.py`` turns
a missing or failing section into a "not available" row instead of failing the run.
Each section runs in a child process: the anchors (Authlib, httpx-auth...) warn on import,
and the tests run with warnings as errors.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import benchkit  # noqa: E402
import report  # noqa: E402

SECTIONS = ["session", "concurrency", "streaming", "refresh", "store", "dask"]
CHILD = (
    "import json, sys; sys.path.insert(0, {bench!r}); import bench_{name} as m; "
    "rows = m.results(quick=True); print('ROWS ' + json.dumps(rows))"
)


def quick_rows(name: str) -> list[dict[str, Any]]:
    code = CHILD.format(bench=str(BENCH), name=name)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = [x for x in done.stdout.splitlines() if x.startswith("ROWS ")][-1]
    rows: list[dict[str, Any]] = json.loads(line.removeprefix("ROWS "))
    return rows


def check_row(row: dict[str, Any], section: str) -> None:
    assert set(row) == set(benchkit.KEYS)
    assert row["section"] == section
    assert isinstance(row["figure"], str) and row["figure"]
    for key in ("value", "baseline", "target", "note"):
        assert isinstance(row[key], str)
    assert row["ratio"] is None or (isinstance(row["ratio"], float) and math.isfinite(row["ratio"]))
    assert row["met"] in (True, False, None)
    if row["met"] is False:
        assert "LOSS" in row["note"]
    if row["ratio"] is not None:
        assert row["value"] and row["baseline"]


@pytest.mark.slow
@pytest.mark.parametrize("name", SECTIONS)
def test_section_keeps_the_contract(name: str) -> None:
    rows = quick_rows(name)
    assert rows
    for row in rows:
        check_row(row, name)
    measured = [r for r in rows if r["value"]]
    assert measured, "every row of the section is empty"
    unavailable = [r["note"] for r in rows if "not available" in str(r["note"])]
    if name != "concurrency":  # anchors may be missing there; our own figures may not
        assert not unavailable
    figures = " ".join(str(r["figure"]) for r in measured)
    for promised in PROMISED.get(name, ()):
        assert promised in figures, promised


#: Figures a section's quick run must have (the issue's list; values are not checked).
PROMISED = {
    "dask": (
        "requests/s, 1 worker process(es) x 2 threads, DaskAuth vs one in-process AuthSession",
        "requests/s, 2 worker process(es) x 2 threads, DaskAuth vs one in-process AuthSession",
        "token-endpoint calls per expiry, 1 worker(s)",
        "token-endpoint calls per expiry, 2 worker(s)",
        "broker messages per request, 2 worker(s)",
        "worker-side cost per request: DaskAuth vs",
    ),
}


def test_concurrency_counts_our_clients() -> None:
    """Our rows are counts of the form the report promises (no anchor needed)."""
    import bench_concurrency

    assert {"50 tasks", "8 threads", "32 threads"} == set(bench_concurrency.SCENARIOS)
    assert {"threads", "tasks"} <= set(bench_concurrency.DRIVERS["okta-nb-auth"])


def test_missing_section_is_a_row(tmp_path: Path) -> None:
    rows = report.run_section("no_such_section", quick=True)
    assert len(rows) == 1
    check_row(rows[0], "no_such_section")
    assert rows[0]["note"] == "not available: no module bench_no_such_section"


def test_failing_section_is_a_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bench_boom.py").write_text(
        "def results(quick=False):\n    raise RuntimeError('anchor missing')\n"
    )
    (tmp_path / "bench_badrows.py").write_text("def results(quick=False):\n    return [{}]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    boom = report.run_section("boom", quick=True)
    assert boom[0]["note"] == "not available: results() raised RuntimeError: anchor missing"
    bad = report.run_section("badrows", quick=True)
    assert "without the contract keys" in str(bad[0]["note"])


def test_markdown_has_the_report_columns() -> None:
    row = benchkit.row("x", "a|b", "1 µs", baseline="2 µs", ratio=0.5, target="<= 1", met=True)
    lines = benchkit.markdown([row]).splitlines()
    assert lines[0] == "| figure | ours | baseline | ratio | target | met | note |"
    assert lines[2] == "| a\\|b | 1 µs | 2 µs | 0.500 | <= 1 | yes |  |"
    lost = benchkit.row("x", "f", "v", met=False, note="slower")
    assert lost["note"] == "LOSS: slower"


def test_report_writes_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bench_tiny.py").write_text(
        "from benchkit import row\n"
        "def results(quick=False):\n"
        "    return [row('tiny', 'count', '3', target='3', met=quick)]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(report, "SECTIONS", (("tiny", "Tiny"), ("gone", "Gone")))
    out = tmp_path / "RESULTS.md"
    assert report.main(["--quick", "--output", str(out)]) == 0
    text = out.read_text()
    assert "## Tiny" in text and "| count | 3 |  |  | 3 | yes |  |" in text
    assert "not available: no module bench_gone" in text
    assert "command: `python bench/report.py --quick --output" in text
