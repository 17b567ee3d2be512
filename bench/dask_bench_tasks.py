"""Tasks ``bench_dask`` runs on Dask workers (pickled by value: workers cannot import bench/).

Each returns plain data (counts and times), never a token.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx

__all__ = ["StaticAuth", "call_api", "overhead"]

MOCK_URL = "http://api.test/whoami"
STATIC = "Bearer static-header-not-a-token"


class StaticAuth(httpx.Auth):
    """The least an :class:`httpx.Auth` can do: set one fixed ``Authorization`` header."""

    def __init__(self, header: str) -> None:
        self.header = header

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = self.header
        yield request


def call_api(_: int, auth: httpx.Auth, url: str, calls: int, pause: float = 0.0) -> dict[str, Any]:
    """``calls`` GETs of ``url`` (``pause`` s between them): how many got a 200, and why the
    others did not (a status or an error's type)."""
    failures: Counter[str] = Counter()
    ok = 0
    with httpx.Client(auth=auth, timeout=30) as http:
        for n in range(calls):
            try:
                status = http.get(url).status_code
            except Exception as exc:  # a typed error from the borrowed auth, a timeout
                failures[type(exc).__name__] += 1
            else:
                ok += status == 200
                if status != 200:
                    failures[str(status)] += 1
            if pause and n < calls - 1:
                time.sleep(pause)  # the task's own work between two calls
    return {"ok": ok, "failures": dict(failures)}


def _per_request(client: httpx.Client, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        client.get(MOCK_URL)
    return (time.perf_counter() - started) / count


def overhead(auth: httpx.Auth, count: int, rounds: int, seed: int) -> dict[str, list[float]]:
    """Seconds per request on this worker, ``httpx.MockTransport`` (the client alone), in
    shuffled rounds: ``ours`` signs with the borrowed auth, ``static`` with a
    :class:`StaticAuth`, ``headers`` sends the header as a client default (no auth hook)."""
    ok = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    rng = random.Random(seed)
    with (
        httpx.Client(transport=ok, auth=auth) as ours,
        httpx.Client(transport=ok, auth=StaticAuth(STATIC)) as static,
        httpx.Client(transport=ok, headers={"Authorization": STATIC}) as headers,
    ):
        clients = {"ours": ours, "static": static, "headers": headers}
        for client in clients.values():  # warm up (the borrower has its lease already)
            _per_request(client, min(count, 200))
        times: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(rounds):
            order = list(clients)
            rng.shuffle(order)
            for name in order:
                times[name].append(_per_request(clients[name], count))
    return times
