"""What every bench script shares: the dev server, its admin API, timing, rows and tables.

The bench contract (see ``bench/report.py``): each ``bench_<topic>.py`` has
``results(quick=False) -> list[dict]`` whose rows carry :data:`KEYS`, and prints them as a
markdown table when run on its own.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from okta_nb_auth import OktaConfig

__all__ = [
    "KEYS",
    "Admin",
    "Row",
    "dev_server",
    "fmt_us",
    "main",
    "markdown",
    "median_ratio",
    "per_request",
    "row",
    "shuffled_rounds",
]

Row = dict[str, object]
KEYS = ("section", "figure", "value", "baseline", "ratio", "target", "met", "note")
CLI = Path(sys.executable).parent / "okta-nb-auth"


def row(
    section: str,
    figure: str,
    value: str,
    *,
    baseline: str = "",
    ratio: float | None = None,
    target: str = "",
    met: bool | None = None,
    note: str = "",
) -> Row:
    """One row of the contract; a row whose target is not met gets "LOSS" in its note."""
    if met is False and "LOSS" not in note:
        note = f"LOSS: {note}" if note else "LOSS"
    return {
        "section": section,
        "figure": figure,
        "value": value,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
        "met": met,
        "note": note,
    }


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs"


#: The dev server's rate limit (600 token calls a minute, as Okta's) would answer 429 to a
#: benchmark's hundreds of refreshes: raised for the bench's servers.
BENCH_SETTINGS = "[server]\nrate_limit_per_minute = 1000000\n"


@contextmanager
def dev_server(*args: str) -> Iterator[str]:
    """Run ``okta-nb-auth devserver --port 0`` in its own process; yield its base URL."""
    with tempfile.TemporaryDirectory(prefix="bench-devserver-") as directory:
        config = Path(directory) / "bench.toml"
        config.write_text(BENCH_SETTINGS, encoding="utf-8")
        with _server_process("--config", str(config), *args) as base:
            yield base


@contextmanager
def _server_process(*args: str) -> Iterator[str]:
    proc = subprocess.Popen(
        [str(CLI), "devserver", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"dev server did not start: {line!r}")
        yield line.split()[1].removesuffix("/oauth2/default")
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


class Admin:
    """The dev server's ``/admin`` API (the server runs in another process)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base + "/admin", timeout=30)

    def login(self, app: str = "native", user: str = "ada@example.com") -> dict[str, Any]:
        response = self.http.post("/login_as", json={"app": app, "user": user})
        body: dict[str, Any] = response.raise_for_status().json()
        return body

    def settings(self, app: str = "native") -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(f"/apps/{app}").raise_for_status().json()
        return body

    def config(self, app: str = "native") -> OktaConfig:
        settings = self.settings(app)
        return OktaConfig(
            issuer=self.base + "/oauth2/default",
            client_id=settings["client_id"],
            client_secret=settings["client_secret"],
            token_endpoint_auth_method=settings["token_endpoint_auth_method"],
        )

    def configure(self, app: str = "native", **changes: Any) -> None:
        self.http.post(f"/apps/{app}", json=changes).raise_for_status()

    def events(self, since: int = 0) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = self.http.get("/events", params={"since": since}).json()
        return body

    def refreshes(self, since: int = 0) -> int:
        return sum(1 for e in self.events(since) if e["grant_type"] == "refresh_token")

    def clear(self) -> None:
        self.http.post("/events/clear", json={}).raise_for_status()

    def expire_access_tokens(self, user: str = "ada@example.com") -> int:
        response = self.http.post("/expire_access_tokens", json={"user": user})
        return int(response.raise_for_status().json()["expired"])

    def fault(self, **fault: Any) -> None:
        self.http.post("/faults", json=fault).raise_for_status()

    def clear_faults(self) -> None:
        self.http.post("/faults/clear", json={}).raise_for_status()

    def close(self) -> None:
        self.http.close()


def per_request(send: Callable[[], object], count: int) -> float:
    """Seconds per call of ``send``, over ``count`` calls."""
    started = time.perf_counter()
    for _ in range(count):
        send()
    return (time.perf_counter() - started) / count


def shuffled_rounds(
    subjects: dict[str, Callable[[], float]], rounds: int, rng: random.Random
) -> dict[str, list[float]]:
    """Run every subject once per round, in a new random order each round."""
    times: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(rounds):
        order = list(subjects)
        rng.shuffle(order)
        for name in order:
            times[name].append(subjects[name]())
    return times


def median_ratio(ours: Sequence[float], baseline: Sequence[float]) -> float:
    """The median of per-round ratios (rounds paired by index)."""
    return statistics.median(a / b for a, b in zip(ours, baseline, strict=True))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) >= 0.01 or value == 0 else f"{value:.2g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown(rows: Sequence[Row]) -> str:
    """A markdown table: figure | ours | baseline | ratio | target | met | note."""
    lines = [
        "| figure | ours | baseline | ratio | target | met | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r["figure"], r["value"], r["baseline"], r["ratio"], r["target"], r["met"]]
        lines.append("| " + " | ".join(_cell(c) for c in [*cells, r["note"]]) + " |")
    return "\n".join(lines)


def main(results: Callable[[bool], list[Row]], doc: str | None) -> None:
    """The standalone entry point of a bench script: ``[--quick]``, prints its table."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    args = parser.parse_args()
    print(markdown(results(args.quick)))
