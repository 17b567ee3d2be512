"""Run every bench section and write one report, ``bench/RESULTS.md`` (``make bench``).

Each section is a module ``bench_<name>.py`` beside this file with
``results(quick=False) -> list[dict]`` (keys: section, figure, value, baseline, ratio, target,
met, note). A section whose module is missing or raises gets a row "not available: <reason>"
and the run goes on. Every figure is a median of per-round ratios or a count from this run.

    python bench/report.py [--quick] [--only NAME ...] [--output PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib
import importlib.metadata
import os
import platform
import shlex
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from benchkit import KEYS, Row, markdown, row

__all__ = ["SECTIONS", "main", "run_section"]

HERE = Path(__file__).resolve().parent
#: (module name, title), in report order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("client", "Client cost vs plain httpx (MockTransport: the client alone)"),
    ("session", "Client cost vs plain httpx (through the dev server)"),
    ("concurrency", "Refresh calls and failed requests under concurrency (ROTATE, grace 0)"),
    ("streaming", "Peak memory of 64 MiB streamed bodies"),
    ("refresh", "Refresh cost with and without ID-token verification"),
    ("import", "Import time"),
    ("devserver", "Dev-server throughput vs raw RS256 signing"),
    ("devserver_memory", "Dev-server memory and revocation time over many refreshes"),
    ("store", "Token store shared by processes"),
    ("dask", "Dask workers borrowing access tokens (LocalCluster of 1, 2, 4 processes)"),
)
PACKAGES = (
    "httpx",
    "PyJWT",
    "cryptography",
    "anyio",
    "Authlib",
    "httpx-auth",
    "requests-oauthlib",
    "okta-client-python",
    "starlette",
    "uvicorn",
    "distributed",
)
HISTORY = "HISTORY.md"


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def header(argv: Sequence[str], started: float, elapsed: float) -> str:
    when = datetime.datetime.fromtimestamp(started, datetime.timezone.utc)
    versions = ", ".join(f"{name} {_version(name)}" for name in PACKAGES)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    command = "python bench/report.py " + " ".join(shlex.quote(a) for a in argv)
    return "\n".join(
        [
            "# Benchmark results",
            "",
            f"- date: {when:%Y-%m-%d %H:%M} UTC; took {elapsed:.0f} s",
            f"- machine: {os.cpu_count()} cores, {platform.machine()}, "
            f"{platform.system()} {platform.release()}; load average at the end {load}",
            f"- Python {platform.python_version()}; {versions}",
            f"- command: `{command.strip()}` (`make bench`)",
            "",
            "Every figure below comes from this one run: a ratio is the median of per-round "
            "ratios over rounds run in a random order, a count is what the dev server's event "
            "log or the client saw. The machine is shared and loaded, so ratios near 1 are "
            "within noise; a row this package loses says LOSS.",
        ]
    )


def _unavailable(name: str, reason: str) -> list[Row]:
    return [row(name, f"bench_{name}", "", note=f"not available: {reason}")]


def run_section(name: str, quick: bool) -> list[Row]:
    """The section's rows, or one "not available" row saying why there are none."""
    try:
        module = importlib.import_module(f"bench_{name}")
    except ModuleNotFoundError as exc:
        return _unavailable(name, f"no module {exc.name}")
    except Exception as exc:
        return _unavailable(name, f"import failed: {type(exc).__name__}: {exc}")
    try:
        with contextlib.redirect_stdout(sys.stderr):  # a section's own progress output
            rows = list(module.results(quick=quick))
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return _unavailable(name, f"results() raised {type(exc).__name__}: {exc}")
    bad = [r for r in rows if not isinstance(r, dict) or set(KEYS) - set(r)]
    if bad or not rows:
        return _unavailable(name, "results() returned no rows or rows without the contract keys")
    return rows


def section_text(name: str, title: str, rows: list[Row], seconds: float) -> str:
    return f"## {title}\n\n`bench_{name}` ({seconds:.0f} s)\n\n{markdown(rows)}\n"


def history_note() -> str:
    if not (HERE / HISTORY).exists():
        return ""
    return (
        "\n## Previous results\n\nEarlier hand-written results (other methods, other days) "
        f"are kept in [{HISTORY}]({HISTORY}).\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small numbers (a smoke run)")
    names = [name for name, _ in SECTIONS]
    parser.add_argument("--only", action="append", choices=names, help="run only this section")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    started = time.time()
    parts = []
    for name, title in SECTIONS:
        if args.only and name not in args.only:
            continue
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        rows = run_section(name, args.quick)
        parts.append(section_text(name, title, rows, time.perf_counter() - began))
    text = "\n".join([header(argv, started, time.time() - started), "", *parts]) + history_note()
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
