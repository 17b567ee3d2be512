"""Benchmark: AuthSession's per-request cost against plain httpx, through the dev server.

The dev server runs as a separate process (so its work does not share this process's GIL).
Each round sends ``n`` requests to ``GET /api/whoami`` with each client, in a random order:

1. sync: ``AuthSession`` vs ``httpx.Client`` with a static ``Authorization`` header;
2. async: ``AsyncAuthSession`` vs ``httpx.AsyncClient`` with the same header;
3. the same sync comparison with no server (``httpx.MockTransport`` answering a canned 200),
   which isolates the auth flow's own cost that the loopback round trip dilutes;
4. token-endpoint calls (and failures) when 50 async tasks and 8 threads that share one
   ``OktaAuth`` meet an expired token together (ROTATE, grace 0 in ``bench_concurrency``).

The ratio is the median of per-round ratios. Nothing here asserts a time.

    .venv/bin/python bench/bench_session.py [--quick]
"""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import benchkit
import httpx
from benchkit import Admin, Row, dev_server, fmt_us, median_ratio, per_request, row

from okta_nb_auth import AsyncAuthSession, AuthSession, TokenSet

__all__ = ["Admin", "dev_server", "per_request", "results"]

SECTION = "session"
TARGET = 1.03


def _ratio_row(figure: str, times: dict[str, list[float]], note: str) -> Row:
    ratio = median_ratio(times["ours"], times["plain"])
    ours, plain = statistics.median(times["ours"]), statistics.median(times["plain"])
    return row(
        SECTION,
        figure,
        f"{fmt_us(ours)} per request",
        baseline=f"{fmt_us(plain)} per request",
        ratio=ratio,
        target=f"<= {TARGET}",
        met=ratio <= TARGET,
        note=f"{note}; the flow adds {(ours - plain) * 1e6:.1f} µs per request",
    )


def _compare(
    plain: httpx.Client, ours: httpx.Client, url: str, count: int, rounds: int, rng: random.Random
) -> dict[str, list[float]]:
    for client in (plain, ours):  # warm up connections, discovery and keys
        per_request(lambda c=client: c.get(url).raise_for_status(), min(count, 50))  # type: ignore[misc]
    subjects: dict[str, Callable[[], float]] = {
        "plain": lambda: per_request(lambda: plain.get(url), count),
        "ours": lambda: per_request(lambda: ours.get(url), count),
    }
    return benchkit.shuffled_rounds(subjects, rounds, rng)


def sync_rows(admin: Admin, rounds: int, n: int, rng: random.Random) -> list[Row]:
    body = admin.login()
    url = admin.base + "/api/whoami"
    header = {"Authorization": f"Bearer {body['access_token']}"}
    ok = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    clients = {
        "server": (
            httpx.Client(headers=header),
            AuthSession(admin.config(), TokenSet.from_response(body)),
        ),
        "mock": (
            httpx.Client(transport=ok, headers=header),
            AuthSession(admin.config(), TokenSet.from_response(admin.login()), transport=ok),
        ),
    }
    rows = []
    for where, (plain, ours) in clients.items():
        target = url if where == "server" else "http://api.test/whoami"
        count = n if where == "server" else n * 5
        times = _compare(plain, ours, target, count, rounds, rng)
        plain.close()
        ours.close()
        what = "dev server" if where == "server" else "MockTransport, no server"
        note = f"{rounds} rounds x {count} requests"
        rows.append(_ratio_row(f"sync AuthSession vs httpx.Client ({what})", times, note))
    return rows


async def _async_times(admin: Admin, rounds: int, n: int, rng: random.Random) -> Any:
    body = admin.login()
    url = admin.base + "/api/whoami"
    header = {"Authorization": f"Bearer {body['access_token']}"}
    async with (
        httpx.AsyncClient(headers=header) as plain,
        AsyncAuthSession(admin.config(), TokenSet.from_response(body)) as ours,
    ):
        clients = {"plain": plain, "ours": ours}

        async def timed(client: httpx.AsyncClient, count: int) -> float:
            started = time.perf_counter()
            for _ in range(count):
                await client.get(url)
            return (time.perf_counter() - started) / count

        for client in clients.values():
            await timed(client, min(n, 50))
        times: dict[str, list[float]] = {"plain": [], "ours": []}
        for _ in range(rounds):
            order = list(clients)
            rng.shuffle(order)
            for name in order:
                times[name].append(await timed(clients[name], n))
    return times


def async_row(admin: Admin, rounds: int, n: int, rng: random.Random) -> Row:
    times = asyncio.run(_async_times(admin, rounds, n, rng))
    figure = "async AsyncAuthSession vs httpx.AsyncClient (dev server)"
    return _ratio_row(figure, times, f"{rounds} rounds x {n} requests")


def mixed_row(admin: Admin, tasks: int = 50, threads: int = 8) -> Row:
    """One ``OktaAuth`` shared by 8 threads and 50 tasks on an expired token."""
    body = admin.login()
    url = admin.base + "/api/whoami"
    expired = TokenSet.from_response({**body, "expires_in": 0}, now=time.time() - 120)
    session = AuthSession(admin.config(), expired)
    asession = AsyncAuthSession(admin.config(), tokens=None, okta_auth=session.auth)
    since = len(admin.events())
    statuses: list[int] = []
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait(timeout=60)
        statuses.append(session.get(url).status_code)

    async def many() -> None:
        barrier.wait(timeout=60)
        responses = await asyncio.gather(*(asession.get(url) for _ in range(tasks)))
        statuses.extend(r.status_code for r in responses)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    asyncio.run(many())
    for worker in workers:
        worker.join(60)
    session.close()
    refreshes = admin.refreshes(since)
    failed = sum(1 for s in statuses if s != 200) + tasks + threads - len(statuses)
    return row(
        SECTION,
        f"{threads} threads + {tasks} tasks sharing one OktaAuth, expired token",
        f"refresh calls {refreshes}; failed {failed}/{tasks + threads}",
        target="1 refresh call, 0 failed",
        met=refreshes == 1 and failed == 0,
        note="default app settings (STATIC rotation); ROTATE grace 0 is in bench_concurrency",
    )


def results(quick: bool = False) -> list[Row]:
    """The section's rows (contract of ``bench/report.py``)."""
    rounds, n = (3, 20) if quick else (15, 200)
    rng = random.Random()
    with dev_server() as base:
        admin = Admin(base)
        rows = sync_rows(admin, rounds, n, rng)
        rows.insert(1, async_row(admin, rounds, n, rng))
        rows.append(mixed_row(admin))
        admin.close()
    rows[0]["note"] = f"{rows[0]['note']}; server and loopback are most of each request"
    return rows


if __name__ == "__main__":
    benchkit.main(results, __doc__)
