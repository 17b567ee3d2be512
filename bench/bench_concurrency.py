"""Benchmark: refresh calls and failed requests when many requests meet an expired token.

The dev server runs in its own process with the ``native`` app set to ``ROTATE`` and grace
period 0, and ~50 ms of latency on every token-endpoint call (its fault controls). Each client
gets a fresh login of its own (a new token family) whose access token is expired both at the
server (``/admin/expire_access_tokens``) and in the token the client is given; then 50 asyncio
tasks, 8 threads or 32 threads, released together, make one ``GET /api/whoami`` each.
Refresh calls are counted in the server's event log (``grant_type == "refresh_token"``);
a request that did not get a 200 is a failure. Clients and scenarios run in a shuffled order
each round. Clients: see ``concurrency_clients.py``.

    .venv/bin/python bench/bench_concurrency.py [--quick]
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import dataclass, field

import benchkit
import httpx
from benchkit import Admin, Row, dev_server, row
from concurrency_clients import DRIVERS, Login, Outcome

__all__ = ["results"]

SECTION = "concurrency"
LATENCY = 0.05  # seconds added to every token-endpoint call
SCENARIOS = {"50 tasks": ("tasks", 50), "8 threads": ("threads", 8), "32 threads": ("threads", 32)}
OURS = "okta-nb-auth"
LABELS = {
    ("okta-nb-auth", "threads"): "okta-nb-auth AuthSession",
    ("okta-nb-auth", "tasks"): "okta-nb-auth AsyncAuthSession",
    ("Authlib", "threads"): "Authlib OAuth2Client",
    ("Authlib", "tasks"): "Authlib AsyncOAuth2Client",
    ("httpx-auth", "threads"): "httpx-auth OAuth2AuthorizationCodePKCE",
    ("httpx-auth", "tasks"): "httpx-auth OAuth2AuthorizationCodePKCE (httpx.AsyncClient)",
    ("requests-oauthlib", "threads"): "requests-oauthlib OAuth2Session (auto_refresh_url)",
    ("okta-client-python", "tasks"): "okta-client-python OAuth2Client.refresh (glue)",
}

NOTES = {
    "httpx-auth": "its fallback to a browser login is stubbed and counted as a failure; its "
    "refresh blocks the event loop under AsyncClient; it pins "
    "httpx==0.28.*, make bench installs it --no-deps so it runs on httpx {httpx}",
    "requests-oauthlib": "OAUTHLIB_INSECURE_TRANSPORT=1 (the dev server is http on loopback)",
    "okta-client-python": "no HTTP-client integration: each task calls OAuth2Client.refresh "
    "(which coalesces one refresh token's refreshes) and sends the token with httpx",
}

NOT_MEASURED = {
    ("requests-oauthlib", "tasks"): "not applicable: requests has no asyncio client",
    ("okta-client-python", "threads"): "not measured: its refresh is asyncio-only (an "
    "asyncio.Lock per event loop), so threads cannot share it",
}


@dataclass
class Tally:
    refreshes: list[int] = field(default_factory=list)
    requests: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    unavailable: str = ""

    def add(self, refreshes: int, outcome: Outcome) -> None:
        self.refreshes.append(refreshes)
        self.requests += outcome.ok + outcome.failed
        self.failed += outcome.failed
        self.errors.update(outcome.errors)

    def text(self) -> str:
        if self.unavailable:
            return "not available"
        rounds = ", ".join(map(str, self.refreshes))
        return (
            f"refresh calls {statistics.median(self.refreshes):g} (rounds: {rounds}); "
            f"failed {self.failed}/{self.requests}"
        )


def _availability(client: str) -> str:
    """ "" when the client's package imports, else why not."""
    module = {
        "Authlib": "authlib",
        "httpx-auth": "httpx_auth",
        "requests-oauthlib": "requests_oauthlib",
        "okta-client-python": "okta_client",
    }.get(client)
    if module is None:
        return ""
    try:
        __import__(module)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc} (install the 'bench' extra: make bench)"
    return ""


def one_job(admin: Admin, client: str, scenario: str) -> tuple[int, Outcome]:
    """A fresh login, expired at the server; N concurrent requests; refresh calls counted."""
    mode, count = SCENARIOS[scenario]
    admin.clear_faults()
    admin.fault(latency=LATENCY, count=10_000)
    login = Login(admin.config(), admin.login(), admin.base + "/api/whoami")
    admin.expire_access_tokens()
    since = len(admin.events())
    outcome = DRIVERS[client][mode](login, count)
    return admin.refreshes(since), outcome


def measure(rounds: int, rng: random.Random) -> dict[tuple[str, str], Tally]:
    tallies: dict[tuple[str, str], Tally] = {}
    jobs = []
    for client, modes in DRIVERS.items():
        reason = _availability(client)
        for scenario, (mode, _) in SCENARIOS.items():
            if mode in modes:
                tallies[client, scenario] = Tally(unavailable=reason)
                if not reason:
                    jobs.append((client, scenario))
    with dev_server() as base:
        admin = Admin(base)
        admin.configure("native", rotation="ROTATE", grace_period=0)
        for _ in range(rounds):
            rng.shuffle(jobs)
            for client, scenario in jobs:
                try:
                    refreshes, outcome = one_job(admin, client, scenario)
                except Exception as exc:  # the client could not run at all: say so
                    tallies[client, scenario].unavailable = f"{type(exc).__name__}: {exc}"
                    continue
                tallies[client, scenario].add(refreshes, outcome)
        admin.close()
    return tallies


def _errors(tally: Tally) -> str:
    return ", ".join(f"{name} x{n}" for name, n in tally.errors.most_common()) or "none"


def _rows(scenario: str, tallies: dict[tuple[str, str], Tally]) -> list[Row]:
    mode = SCENARIOS[scenario][0]
    ours = tallies[OURS, scenario]
    ok = not ours.unavailable and ours.failed == 0 and max(ours.refreshes) == 1
    rows = [
        row(
            SECTION,
            f"{scenario}: {LABELS[OURS, mode]}",
            ours.text(),
            target="1 refresh call, 0 failed",
            met=None if ours.unavailable else ok,
            note=f"not available: {ours.unavailable}" if ours.unavailable else _errors(ours),
        )
    ]
    for (client, name), anchor in tallies.items():
        if client == OURS or name != scenario:
            continue
        extra = NOTES.get(client, "").format(httpx=httpx.__version__)
        rows.append(_anchor_row(scenario, LABELS[client, mode], ours, anchor, extra))
    for (client, other_mode), why in NOT_MEASURED.items():
        if other_mode == mode:
            rows.append(row(SECTION, f"{scenario}: vs {client}", ours.text(), note=why))
    return rows


def _anchor_row(scenario: str, label: str, ours: Tally, anchor: Tally, extra: str) -> Row:
    if anchor.unavailable or ours.unavailable:
        why = anchor.unavailable or "okta-nb-auth did not run"
        return row(SECTION, f"{scenario}: vs {label}", ours.text(), note=f"not available: {why}")
    worse = ours.failed > anchor.failed or statistics.median(ours.refreshes) > statistics.median(
        anchor.refreshes
    )
    return row(
        SECTION,
        f"{scenario}: vs {label}",
        ours.text(),
        baseline=anchor.text(),
        target="no more refresh calls or failures than the anchor",
        met=not worse,
        note=f"anchor's failures: {_errors(anchor)}" + (f"; {extra}" if extra else ""),
    )


def results(quick: bool = False) -> list[Row]:
    """The section's rows (contract of ``bench/report.py``)."""
    rounds = 1 if quick else 5
    tallies = measure(rounds, random.Random())
    rows: list[Row] = []
    for scenario in SCENARIOS:
        rows += _rows(scenario, tallies)
    note = (
        f"{rounds} round(s); ROTATE, grace 0; {LATENCY * 1000:.0f} ms token-endpoint latency; "
        "one request per thread/task; a fresh token family per client and round"
    )
    rows.append(row(SECTION, "set-up", "", note=note))
    return rows


if __name__ == "__main__":
    benchkit.main(results, __doc__)
