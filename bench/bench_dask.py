"""Benchmark: Dask workers calling the API with access tokens borrowed from the notebook.

The dev server runs in its own process; for 1, 2 and 4 worker processes (a
``distributed.LocalCluster``, 2 threads each) the notebook's session lends its access tokens
with ``session.for_dask(client)`` and tasks call ``GET /api/whoami``:

1. requests per second through the cluster against one in-process ``AuthSession`` making
   the same number of requests with the same number of threads, and against the same tasks
   signing with a static header (``dask_throughput.py``; shuffled rounds, median of per-round
   ratios). This machine has 2 cores, shared by the dev server, the workers and other work:
   it bounds what more workers can gain, so what matters is how the broker's cost grows;
2. with 2-second access tokens (``ROTATE``, grace 0; not 1 s: a JWT's exp is whole seconds)
   over several expiries: token-endpoint calls per expiry (the dev server's event log; a
   refresh before the previous token was due is a second call for one expiry: LOSS) and the
   broker's messages (answers + deliveries) per request;
3. on a worker, the per-request cost of the borrowed auth against an ``httpx.Auth`` that sets
   a static ``Authorization`` header, ``httpx.MockTransport`` (the client alone), shuffled
   rounds.

Nothing here asserts a time.

    .venv/bin/python bench/bench_dask.py [--quick]
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import benchkit
from benchkit import Admin, Row, dev_server, fmt_us, median_ratio, row
from dask_bench_tasks import call_api, overhead
from dask_cluster import (
    EXPIRY_LOGIN,
    THREADS,
    THROUGHPUT_LOGIN,
    broker_messages,
    cluster,
    failures,
    lent,
    worker_count,
)
from dask_throughput import throughput_rows
from distributed import Client

__all__ = ["Plan", "results"]

SECTION = "dask"
TTL = 2  # seconds: the short access-token lifetime of figure 2
MARGIN = TTL / 2  # a borrower asks this long before expiry (leeway capped at half the lifetime)
TARGET = 1.03


@dataclass(frozen=True)
class Plan:
    workers: tuple[int, ...]
    rounds: int  # throughput rounds per cluster
    requests: int  # per throughput subject and round
    expiries: int  # figure 2 runs until this many token calls
    mock_count: int  # requests per overhead round on a worker
    mock_rounds: int


QUICK = Plan((1, 2), rounds=2, requests=96, expiries=3, mock_count=300, mock_rounds=3)
FULL = Plan((1, 2, 4), rounds=11, requests=480, expiries=6, mock_count=2000, mock_rounds=15)


# ------------------------------------------------------------------ figure 2: expiries


@dataclass
class ExpiryRun:
    workers: int
    calls: list[dict[str, Any]]
    requests: int
    failed: Counter[str]
    messages: int

    def early(self) -> int:
        """Token calls made before the previous token was due (a second call for one expiry)."""
        pairs = itertools.pairwise(self.calls)
        return sum(1 for a, b in pairs if b["at"] < (a["expires_at"] or 0) - MARGIN - 0.01)


def _cursor(admin: Admin) -> int:
    return int(admin.http.get("/events/count").raise_for_status().json()["recorded"])


def _token_calls(admin: Admin, since: int) -> list[dict[str, Any]]:
    return [e for e in admin.events(since) if e["endpoint"] == "token"]


def expiry_run(admin: Admin, client: Client, plan: Plan) -> ExpiryRun:
    """Waves of tasks (5 requests each, 50 ms apart) until ``plan.expiries`` token calls."""
    workers = worker_count(client)
    url, tasks = admin.base + "/api/whoami", workers * THREADS * 2
    admin.configure("native", rotation="ROTATE", grace_period=0, access_token_ttl=TTL)
    answers: list[dict[str, Any]] = []
    with lent(admin, client, EXPIRY_LOGIN) as (_, auth):
        since = _cursor(admin)
        for _ in range(plan.expiries * 10):  # bounded
            futures = client.map(
                call_api, range(tasks), auth=auth, url=url, calls=5, pause=0.05, pure=False
            )
            answers += client.gather(futures)
            if len(_token_calls(admin, since)) >= plan.expiries:
                break
        calls, messages = _token_calls(admin, since), broker_messages(auth)
    failed = failures(answers)
    requests = sum(a["ok"] for a in answers) + sum(failed.values())
    return ExpiryRun(workers, calls, requests, failed, messages)


def expiry_rows(run: ExpiryRun) -> list[Row]:
    calls, early, lost = len(run.calls), run.early(), sum(run.failed.values())
    refused = sum(1 for c in run.calls if c["status"] != 200)
    expiries = calls - early
    ok = early == 0 and lost == 0 and refused == 0 and calls > 0
    why = f"{early} early token calls, {refused} refused, {lost} failed requests {dict(run.failed)}"
    what = f"{run.workers} worker(s), {TTL} s tokens, ROTATE, grace 0"
    per_expiry = calls / expiries if expiries else float(calls)
    return [
        row(
            SECTION,
            f"token-endpoint calls per expiry, {what}",
            f"{per_expiry:.2f} ({calls} calls over {expiries} expiries); "
            f"failed {lost}/{run.requests} requests",
            target="1 per expiry, 0 failed",
            met=ok,
            note="each refresh came once the previous token was due" if ok else why,
        ),
        row(
            SECTION,
            f"broker messages per request, {what}",
            f"{run.messages / max(run.requests, 1):.3f} "
            f"({run.messages} answers + deliveries / {run.requests} requests)",
            note=f"{run.messages / max(expiries, 1) / run.workers:.1f} messages per expiry and "
            "worker (an ask answered is 2: the answer and its delivery)",
        ),
    ]


# ------------------------------------------------------------------ figure 3: worker cost


def overhead_row(admin: Admin, client: Client, plan: Plan, rng: random.Random) -> Row:
    """The borrowed auth against a static-header auth, timed on one worker (MockTransport)."""
    worker = next(iter(client.scheduler_info()["workers"]))
    with lent(admin, client, THROUGHPUT_LOGIN) as (_, auth):
        # One real request first, so the worker's borrower holds a lease.
        client.submit(call_api, 0, auth, admin.base + "/api/whoami", 1, workers=[worker]).result()
        args = (auth, plan.mock_count, plan.mock_rounds, rng.randrange(2**32))
        times = client.submit(overhead, *args, workers=[worker], pure=False).result()
    ratio = median_ratio(times["ours"], times["static"])
    ours, static = statistics.median(times["ours"]), statistics.median(times["static"])
    headers = median_ratio(times["ours"], times["headers"])
    return row(
        SECTION,
        "worker-side cost per request: DaskAuth vs an httpx.Auth setting a static "
        "Authorization header (on a worker, MockTransport)",
        f"{fmt_us(ours)} per request",
        baseline=f"{fmt_us(static)} per request",
        ratio=ratio,
        target=f"<= {TARGET}",
        met=ratio <= TARGET,
        note=f"{plan.mock_rounds} rounds x {plan.mock_count} requests; the borrowed auth adds "
        f"{(ours - static) * 1e6:.1f} µs per request; against the header as a client default "
        f"(no auth hook at all) the ratio is {headers:.3f}",
    )


# ------------------------------------------------------------------ the section

_STARTED = time.perf_counter()


def progress(what: str) -> None:
    print(f"[dask {time.perf_counter() - _STARTED:5.1f} s] {what}", file=sys.stderr, flush=True)


def measure(plan: Plan, rng: random.Random) -> tuple[list[Row], list[ExpiryRun], Row | None]:
    """Every figure, one cluster per worker count (the counts in a random order)."""
    throughput: dict[int, list[Row]] = {}
    runs: list[ExpiryRun] = []
    cost: Row | None = None
    counts = list(plan.workers)
    rng.shuffle(counts)
    with dev_server() as base:
        admin = Admin(base)
        try:
            for workers in counts:
                progress(f"{workers} worker(s): starting the cluster")
                with cluster(workers) as client:
                    progress("throughput")
                    throughput[workers] = throughput_rows(
                        admin, client, plan.requests, plan.rounds, rng
                    )
                    if workers == min(plan.workers):
                        progress("worker-side cost")
                        cost = overhead_row(admin, client, plan, rng)
                    progress("expiries")
                    runs.append(expiry_run(admin, client, plan))
                progress("closed")
        finally:
            admin.close()
    return [r for n in sorted(throughput) for r in throughput[n]], runs, cost


def results(quick: bool = False) -> list[Row]:
    """The section's rows (contract of ``bench/report.py``)."""
    plan = QUICK if quick else FULL
    rows, runs, cost = measure(plan, random.Random())
    for run in sorted(runs, key=lambda r: r.workers):
        rows += expiry_rows(run)
    if cost is not None:
        rows.append(cost)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    note = (
        f"{os.cpu_count()} cores shared by the dev server, the scheduler, the workers and other "
        f"work (load average {load}): they bound requests/s, so the figures to watch are how "
        f"the broker's cost grows with workers; worker counts {plan.workers} in a random order, "
        f"{THREADS} threads each"
    )
    rows.append(row(SECTION, "set-up", "", note=note))
    return rows


if __name__ == "__main__":
    benchkit.main(results, __doc__)
