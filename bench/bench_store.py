"""Benchmark: a token store shared by processes, against copies of the tokens; its request cost.

Run with ``make bench`` (``bench/report.py`` calls ``results()``) or
``.venv/bin/python bench/bench_store.py [--quick]``.
It starts the dev server as a separate process and prints:

1. token-endpoint calls when 4 worker processes (``store_worker.py``) share one
   :class:`~okta_nb_auth.store.FileStore` across 10 access-token expiries, under strict
   rotation (ROTATE, grace period 0), next to a baseline that can lose: 4 processes that each
   hold a copy of the same tokens with no store. Counted in the dev server's event log and the
   workers' answers (target for the store: 0 calls beyond one per expiry);
2. the per-request cost of an ``AuthSession`` with a ``FileStore`` against one without a store
   and a plain ``httpx.Client``, with ``httpx.MockTransport`` (no server), plus the number of
   ``os.open`` / ``os.stat`` calls the store session's requests make (target: no measurable
   difference, and 0 file calls).

Nothing here asserts a time: it prints figures for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import benchkit
from benchkit import Admin, Row, dev_server, row
from store_cost import request_cost

from okta_nb_auth import AuthSession, OktaConfig, TokenSet
from okta_nb_auth.store import FileStore

WORKERS = 4
REQUESTS_PER_EXPIRY = 5
EXPIRIES = 10
ACCESS_TOKEN_TTL = 300  # seconds; each expiry advances the server clock by this + 1
SCENARIOS = ("store", "copies")
LABELS = {
    "store": "FileStore shared by 4 processes",
    "copies": "4 copies of the tokens, no store",
}


# ------------------------------------------------------------------ scenario 1: the parent


class StoreAdmin(Admin):
    """:class:`Admin` plus the app settings, clock and event queries this benchmark needs."""

    def strict_rotation(self, app: str = "native") -> None:
        """ROTATE with grace period 0 and a short access-token lifetime."""
        changes = {"rotation": "ROTATE", "grace_period": 0, "access_token_ttl": ACCESS_TOKEN_TTL}
        self.http.post(f"/apps/{app}", json=changes).raise_for_status()

    def offset(self) -> float:
        return float(self.http.get("/clock").json()["offset"])

    def advance(self, seconds: float) -> float:
        """Move the server's clock forward; returns its new offset."""
        response = self.http.post("/clock", json={"advance": seconds})
        return float(response.raise_for_status().json()["offset"])

    def refresh_events(self, since: int) -> list[dict[str, Any]]:
        events = self.http.get("/events", params={"since": since}).json()
        return [e for e in events if e["grant_type"] == "refresh_token"]

    def event_count(self) -> int:
        return len(self.http.get("/events").json())


def config_fields(config: OktaConfig) -> dict[str, Any]:
    """What a worker needs to rebuild ``config``."""
    return {
        "issuer": config.issuer,
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "token_endpoint_auth_method": config.token_endpoint_auth_method,
    }


@contextmanager
def workers(starts: list[dict[str, Any]]) -> Iterator[list[subprocess.Popen[str]]]:
    """Start one worker per start message and wait until all are ready."""
    procs = [
        subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("store_worker.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in starts
    ]
    try:
        for proc, start in zip(procs, starts, strict=True):
            _send(proc, start)
        for proc in procs:
            _receive(proc)
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                _send(proc, {"op": "quit"})
        for proc in procs:
            proc.communicate(timeout=30)


def _send(proc: subprocess.Popen[str], message: dict[str, Any]) -> None:
    stdin: IO[str] | None = proc.stdin
    assert stdin is not None
    stdin.write(json.dumps(message) + "\n")
    stdin.flush()


def _receive(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"worker {proc.pid} ended without answering (see its stderr)")
    answer: dict[str, Any] = json.loads(line)
    return answer


@dataclass
class Tally:
    """One scenario's figures over all its expiries."""

    expiries: int = 0
    token_calls: int = 0
    extra_calls: int = 0  # sum over expiries of (calls in that expiry - 1), when positive
    invalid_grant: int = 0
    requests: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def add_expiry(self, calls: list[dict[str, Any]], answers: list[dict[str, Any]]) -> None:
        self.expiries += 1
        self.token_calls += len(calls)
        self.extra_calls += max(len(calls) - 1, 0)
        self.invalid_grant += sum(1 for e in calls if e["error"] == "invalid_grant")
        for answer in answers:
            self.requests += answer["ok"] + answer["failed"]
            self.failed += answer["failed"]
            self.errors.update(answer["errors"])


def starts_for(mode: str, admin: StoreAdmin, directory: str, count: int) -> list[dict[str, Any]]:
    """A fresh login, stored once (``store``) or copied to each worker (``copies``)."""
    config = admin.config()
    offset = admin.offset()
    tokens = TokenSet.from_response(admin.login(), now=time.time() + offset)
    common = {
        "mode": mode,
        "config": config_fields(config),
        "offset": offset,
        "url": admin.base + "/api/whoami",
    }
    if mode == "store":

        def clock() -> float:
            return time.time() + offset

        AuthSession(config, tokens, store=FileStore(directory), clock=clock).close()
        return [{**common, "store": directory} for _ in range(count)]
    return [{**common, "tokens": dataclasses.asdict(tokens)} for _ in range(count)]


def scenario(admin: StoreAdmin, mode: str, expiries: int) -> Tally:
    """Run ``expiries`` expiries with 4 racing workers; count what the server saw."""
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as directory:
        starts = starts_for(mode, admin, directory, WORKERS)
        with workers(starts) as procs:
            for _ in range(expiries):
                offset = admin.advance(ACCESS_TOKEN_TTL + 1)
                since = admin.event_count()
                for proc in procs:  # every worker gets its order before any answer is read
                    _send(proc, {"op": "run", "offset": offset, "requests": REQUESTS_PER_EXPIRY})
                answers = [_receive(proc) for proc in procs]
                tally.add_expiry(admin.refresh_events(since), answers)
    return tally


def shared_store(
    admin: StoreAdmin, rounds: int, expiries: int, rng: random.Random
) -> dict[str, Tally]:
    """Part 1: both scenarios per round, in a shuffled order; print one row per run."""
    admin.strict_rotation()
    print(
        f"\n1. {WORKERS} processes x {REQUESTS_PER_EXPIRY} requests per expiry, {expiries} "
        f"expiries, ROTATE, grace period 0, access token {ACCESS_TOKEN_TTL} s"
    )
    header = "round  scenario                          expiries  token calls  extra  "
    print(header + "invalid_grant  failed requests")
    totals = {mode: Tally() for mode in SCENARIOS}
    for number in range(1, rounds + 1):
        order = list(SCENARIOS)
        rng.shuffle(order)
        for mode in order:
            tally = scenario(admin, mode, expiries)
            _merge(totals[mode], tally)
            print(f"{number:>5}  {_row(mode, tally)}")
    for mode in SCENARIOS:
        print(f"  all  {_row(mode, totals[mode])}")
        if totals[mode].errors:
            print(f"       errors seen by the workers: {dict(totals[mode].errors)}")
    return totals


def _row(mode: str, tally: Tally) -> str:
    failed = f"{tally.failed}/{tally.requests}"
    return (
        f"{LABELS[mode]:<32}  {tally.expiries:>8}  {tally.token_calls:>11}  "
        f"{tally.extra_calls:>5}  {tally.invalid_grant:>13}  {failed:>15}"
    )


def _merge(total: Tally, tally: Tally) -> None:
    for name in ("expiries", "token_calls", "extra_calls", "invalid_grant", "requests", "failed"):
        setattr(total, name, getattr(total, name) + getattr(tally, name))
    total.errors.update(tally.errors)


# ------------------------------------------------------------------ the bench contract

SECTION = "store"


def _store_rows(totals: dict[str, Tally]) -> list[Row]:
    store, copies = totals["store"], totals["copies"]
    figure = f"{WORKERS} processes, {store.expiries} expiries, ROTATE grace 0"
    return [
        row(
            SECTION,
            f"{figure}: token calls beyond one per expiry",
            f"{store.extra_calls} extra of {store.token_calls}; failed {store.failed}/"
            f"{store.requests}",
            baseline=f"{copies.extra_calls} extra of {copies.token_calls}; failed "
            f"{copies.failed}/{copies.requests}",
            target="0 extra, 0 failed",
            met=store.extra_calls == 0 and store.failed == 0,
            note="FileStore shared by the processes vs a copy of the tokens in each "
            f"(invalid_grant: {store.invalid_grant} vs {copies.invalid_grant})",
        )
    ]


def _cost_rows(cost: dict[str, Any], rounds: int, per_round: int) -> list[Row]:
    medians, ratios = cost["medians"], cost["ratios"]
    return [
        row(
            SECTION,
            "request cost, AuthSession with FileStore vs without (MockTransport)",
            f"{medians['FileStore'] * 1e6:.2f} µs",
            baseline=f"{medians['no store'] * 1e6:.2f} µs",
            ratio=ratios["store vs no store"],
            target="<= 1.03",
            met=ratios["store vs no store"] <= 1.03,
            note=f"{rounds} rounds x {per_round}; vs plain httpx: FileStore "
            f"{ratios['FileStore']:.3f}, no store {ratios['no store']:.3f}",
        ),
        row(
            SECTION,
            f"file calls in {per_round} requests with a FileStore",
            str(cost["file_calls"]),
            target="0",
            met=cost["file_calls"] == 0,
            note=f"control: one FileStore.load() makes {cost['control']}; refreshes "
            f"{cost['refreshed']}, non-API requests {cost['others']}",
        ),
    ]


def results(quick: bool = False) -> list[Row]:
    """The section's rows (contract of ``bench/report.py``)."""
    rng = random.Random()
    rounds, expiries = (1, 1) if quick else (3, EXPIRIES)
    cost_rounds, per_round = (3, 100) if quick else (15, 2000)
    with dev_server() as base:
        totals = shared_store(StoreAdmin(base), rounds, expiries, rng)
    cost = request_cost(cost_rounds, per_round, rng)
    return _store_rows(totals) + _cost_rows(cost, cost_rounds, per_round)


# ------------------------------------------------------------------ main


def main() -> None:
    """The section's table (``--quick`` for a smoke run), after the detailed figures."""
    benchkit.main(results, __doc__)


if __name__ == "__main__":
    main()
