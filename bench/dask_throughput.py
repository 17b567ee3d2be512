"""Figure 1 of ``bench_dask``: requests per second through a LocalCluster's workers.

Three subjects make the same number of ``GET /api/whoami`` with the same number of threads,
in shuffled rounds: tasks signing with the borrowed ``DaskAuth`` (ours), the same tasks
signing with a static header (so the borrowed auth's share of the cluster's cost shows), and
one in-process ``AuthSession`` shared by that many threads (what the issue compares with).
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import benchkit
from benchkit import Admin, Row, median_ratio, row
from dask_bench_tasks import StaticAuth, call_api
from dask_cluster import THREADS, THROUGHPUT_LOGIN, broker_messages, failures, lent, worker_count
from distributed import Client

from okta_nb_auth import AuthSession

__all__ = ["throughput_rows"]

SECTION = "dask"
TARGET = 0.97  # requests per second, of the same tasks with a static header


def dask_seconds(client: Client, auth: Any, url: str, total: int, failed: Counter[str]) -> float:
    """Wall time of ``total`` requests in one task per worker thread (submit to gather)."""
    tasks = worker_count(client) * THREADS
    started = time.perf_counter()
    futures = client.map(
        call_api, range(tasks), auth=auth, url=url, calls=total // tasks, pure=False
    )
    answers = client.gather(futures)
    elapsed = time.perf_counter() - started
    failed.update(failures(answers))
    return elapsed


def local_seconds(
    pool: ThreadPoolExecutor,
    threads: int,
    session: AuthSession,
    url: str,
    total: int,
    failed: Counter[str],
) -> float:
    """Wall time of ``total`` requests by one in-process session shared by ``threads``."""

    def work() -> list[int]:
        return [session.get(url).status_code for _ in range(total // threads)]

    started = time.perf_counter()
    statuses = [s for job in [pool.submit(work) for _ in range(threads)] for s in job.result()]
    elapsed = time.perf_counter() - started
    failed.update(str(s) for s in statuses if s != 200)
    return elapsed


def _measure(
    admin: Admin, client: Client, total: int, rounds: int, rng: random.Random
) -> tuple[dict[str, list[float]], dict[str, Counter[str]], int]:
    """Seconds per round of each subject, their failures, the broker's messages meanwhile."""
    threads, url = worker_count(client) * THREADS, admin.base + "/api/whoami"
    failed: dict[str, Counter[str]] = {name: Counter() for name in ("ours", "static", "local")}
    with (
        lent(admin, client, THROUGHPUT_LOGIN) as (session, auth),
        ThreadPoolExecutor(threads) as pool,
    ):
        assert session.tokens is not None
        static = StaticAuth(f"Bearer {session.tokens.access_token!s}")  # the baseline's copy
        subjects: dict[str, Callable[[], float]] = {
            "ours": lambda: dask_seconds(client, auth, url, total, failed["ours"]),
            "static": lambda: dask_seconds(client, static, url, total, failed["static"]),
            "local": lambda: local_seconds(pool, threads, session, url, total, failed["local"]),
        }
        for subject in subjects.values():  # warm up: imports, connections, the first lease
            subject()
        before = broker_messages(auth)
        times = benchkit.shuffled_rounds(subjects, rounds, rng)
        return times, failed, broker_messages(auth) - before


def spread(ours: list[float], baseline: list[float]) -> str:
    """The per-round ratios' quartiles (requests/s, ours / baseline): how noisy the median is."""
    ratios = sorted(b / a for a, b in zip(ours, baseline, strict=True))
    if len(ratios) < 4:
        return f"per-round ratios {ratios[0]:.2f}-{ratios[-1]:.2f}"
    low, _, high = statistics.quantiles(ratios, n=4)
    noise = " (they straddle 1: within this run's noise)" if low < 1 < high else ""
    return f"per-round ratios' quartiles {low:.2f}-{high:.2f}{noise}"


def throughput_rows(
    admin: Admin, client: Client, requests: int, rounds: int, rng: random.Random
) -> list[Row]:
    """Ours against the in-process session, and against the static header."""
    workers = worker_count(client)
    total = requests // (workers * THREADS) * workers * THREADS
    times, failed, messages = _measure(admin, client, total, rounds, rng)
    rps = {name: f"{total / statistics.median(s):.0f} req/s" for name, s in times.items()}
    count = {name: f"failed {sum(c.values())}" for name, c in failed.items()}
    lost = sum(failed["ours"].values())
    what = f"{workers} worker process(es) x {THREADS} threads"
    # Requests per second: ours / baseline is the baseline's seconds / ours.
    local, static = (median_ratio(times[name], times["ours"]) for name in ("local", "static"))
    common = f"{rounds} rounds x {total} requests; broker messages in them: {messages}"
    if lost:
        common = f"LOSS: {lost} failed ({dict(failed['ours'])}); {common}"
    vs_local = "" if local >= 1 else "LOSS: fewer requests/s than one in-process session; "
    return [
        row(
            SECTION,
            f"requests/s, {what}, DaskAuth vs one in-process AuthSession with "
            f"{workers * THREADS} threads",
            f"{rps['ours']}; {count['ours']}",
            baseline=f"{rps['local']}; {count['local']}",
            ratio=local,
            met=False if lost else None,
            note=f"{vs_local}{common}; {spread(times['ours'], times['local'])}",
        ),
        row(
            SECTION,
            f"requests/s, {what}, DaskAuth vs the same tasks with a static-header auth",
            f"{rps['ours']}; {count['ours']}",
            baseline=f"{rps['static']}; {count['static']}",
            ratio=static,
            target=f">= {TARGET}",
            met=static >= TARGET and not lost,
            note=f"{common}; {spread(times['ours'], times['static'])}",
        ),
    ]
