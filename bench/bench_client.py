"""Benchmark: the client's own cost per request, against plain httpx, sync and async.

No server: every client sends through ``httpx.MockTransport`` answering a canned 200, so the
figures are the client alone (the auth flow, httpx's own request and response handling), not
loopback or server noise. Each round times ``per_round`` requests (in five chunks, the
clients' order shuffled in each) with

* ``plain``: an ``httpx.Client`` / ``AsyncClient`` with a static ``Authorization`` header
  (the baseline);
* ``reference``: the same client with a minimal ``httpx.Auth`` that sets that header (what
  any auth costs);
* ``ours``: ``AuthSession`` / ``AsyncAuthSession`` with a valid token (the fast path).

The figure of merit is the median over rounds of each round's ratio ``ours / plain``
(target: at most 1.03), and the median of ``ours - plain`` in microseconds per request (what
the flow costs). Times are the CPU time of this thread (``time.thread_time``): everything
measured runs in it (the event loop too, and MockTransport's handler), and other processes
on a loaded machine do not count, though they still disturb caches. Nothing asserts a time;
a ratio above the target is printed as a LOSS.

Run: ``.venv/bin/python bench/bench_client.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Generator

import httpx

from okta_nb_auth import AsyncAuthSession, AuthSession, OktaConfig, TokenSet

TARGET = 1.03
URL = "https://api.example.com/resource"
CONFIG = OktaConfig(issuer="https://example.okta.com/oauth2/default", client_id="bench-client")
ACCESS = "eyJhbGciOiJSUzI1NiJ9." + "a" * 300 + ".sig"  # the size of an Okta access token
KINDS = ("plain", "reference", "ours")
CHUNKS = 5  # each round: the three clients in 5 interleaved chunks, each chunk's order random

Timer = Callable[[int], float]
ATimer = Callable[[int], Awaitable[float]]


class HeaderAuth(httpx.Auth):
    """The reference: the least an ``httpx.Auth`` can do (set one header)."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b'{"ok": true}')


def _tokens() -> TokenSet:
    # Valid for a day: no refresh happens during the run (the fast path is measured).
    return TokenSet(access_token=ACCESS, expires_at=time.time() + 86400, refresh_token="r" * 40)


def _sync_clients() -> dict[str, httpx.Client]:
    transport = httpx.MockTransport(_answer)
    header = {"Authorization": f"Bearer {ACCESS}"}
    return {
        "plain": httpx.Client(transport=transport, headers=header),
        "reference": httpx.Client(transport=transport, auth=HeaderAuth(ACCESS)),
        "ours": AuthSession(CONFIG, _tokens(), transport=transport),
    }


def _async_clients() -> dict[str, httpx.AsyncClient]:
    transport = httpx.MockTransport(_answer)
    header = {"Authorization": f"Bearer {ACCESS}"}
    return {
        "plain": httpx.AsyncClient(transport=transport, headers=header),
        "reference": httpx.AsyncClient(transport=transport, auth=HeaderAuth(ACCESS)),
        "ours": AsyncAuthSession(CONFIG, _tokens(), transport=transport),
    }


def _time_sync(client: httpx.Client, n: int) -> float:
    """Seconds per request over ``n`` requests."""
    gc.collect()
    start = time.thread_time()
    for _ in range(n):
        client.get(URL)
    return (time.thread_time() - start) / n


async def _time_async(client: httpx.AsyncClient, n: int) -> float:
    gc.collect()
    start = time.thread_time()
    for _ in range(n):
        await client.get(URL)
    return (time.thread_time() - start) / n


def _summary(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Medians of per-round ratios and differences (µs) against ``plain``."""
    out = {f"{kind}_us": statistics.median(r[kind] for r in rounds) * 1e6 for kind in KINDS}
    for kind in ("reference", "ours"):
        out[f"{kind}_ratio"] = statistics.median(r[kind] / r["plain"] for r in rounds)
        out[f"{kind}_flow_us"] = statistics.median((r[kind] - r["plain"]) * 1e6 for r in rounds)
    return out


def run_sync(rounds: int, per_round: int, seed: int | None = None) -> dict[str, float]:
    """Shuffled rounds of the three sync clients; see :func:`_summary`."""
    shuffle = random.Random(seed).shuffle
    clients = _sync_clients()
    try:
        for client in clients.values():  # warm-up: imports, caches, first-call costs
            _time_sync(client, max(per_round // 5, 50))
        results: list[dict[str, float]] = []
        for _ in range(rounds):
            spent = dict.fromkeys(KINDS, 0.0)
            for _ in range(CHUNKS):  # interleaved, so a change of load hits all three alike
                order = list(KINDS)
                shuffle(order)
                for kind in order:
                    spent[kind] += _time_sync(clients[kind], per_round // CHUNKS) / CHUNKS
            results.append(spent)
        return _summary(results)
    finally:
        for client in clients.values():
            client.close()


async def _run_async(rounds: int, per_round: int, seed: int | None) -> dict[str, float]:
    shuffle = random.Random(seed).shuffle
    clients = _async_clients()
    try:
        for client in clients.values():
            await _time_async(client, max(per_round // 5, 50))
        results: list[dict[str, float]] = []
        for _ in range(rounds):
            spent = dict.fromkeys(KINDS, 0.0)
            for _ in range(CHUNKS):
                order = list(KINDS)
                shuffle(order)
                for kind in order:
                    spent[kind] += await _time_async(clients[kind], per_round // CHUNKS) / CHUNKS
            results.append(spent)
        return _summary(results)
    finally:
        for client in clients.values():
            await client.aclose()


def run_async(rounds: int, per_round: int, seed: int | None = None) -> dict[str, float]:
    """The async twin of :func:`run_sync`, in one event loop."""
    return asyncio.run(_run_async(rounds, per_round, seed))


SESSION = {"sync": "AuthSession", "async": "AsyncAuthSession"}


def _rows(
    mode: str, figures: dict[str, float], rounds: int, per_round: int
) -> list[dict[str, object]]:
    section = f"Client cost, {mode} (MockTransport, client alone)"
    setup = f"median of {rounds} rounds x {per_round} requests in {CHUNKS} shuffled chunks"
    ours, ref = figures["ours_ratio"], figures["reference_ratio"]
    met = ours <= TARGET
    verdict = "" if met else f"LOSS: {ours:.3f}x plain httpx, target {TARGET} not met; "
    return [
        {
            "section": section,
            "figure": f"{mode}: {SESSION[mode]} vs plain httpx (static header), per request",
            "value": f"{figures['ours_us']:.1f} µs",
            "baseline": f"{figures['plain_us']:.1f} µs",
            "ratio": round(ours, 4),
            "target": f"<= {TARGET}",
            "met": met,
            "note": f"{verdict}{setup}; the flow costs {figures['ours_flow_us']:.2f} µs",
        },
        {
            "section": section,
            "figure": f"{mode}: minimal httpx.Auth setting a header (reference) vs plain",
            "value": f"{figures['reference_us']:.1f} µs",
            "baseline": f"{figures['plain_us']:.1f} µs",
            "ratio": round(ref, 4),
            "target": "",
            "met": None,
            "note": f"{setup}; a header auth costs {figures['reference_flow_us']:.2f} µs",
        },
    ]


def results(quick: bool = False) -> list[dict[str, object]]:
    """The bench contract: one row per figure (see the module docstring)."""
    rounds, per_round = (15, 300) if quick else (31, 1000)
    rows = _rows("sync", run_sync(rounds, per_round), rounds, per_round)
    return rows + _rows("async", run_async(rounds, per_round), rounds, per_round)


def _table(rows: list[dict[str, object]]) -> str:
    head = "| section | figure | value | baseline | ratio | target | met | note |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.3f}"
        met = "" if row["met"] is None else ("yes" if row["met"] else "**no**")
        cells = [row["section"], row["figure"], row["value"], row["baseline"], ratio]
        lines.append("| " + " | ".join(map(str, [*cells, row["target"], met, row["note"]])) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (smoke test)")
    args = parser.parse_args()
    print(_table(results(quick=args.quick)))


if __name__ == "__main__":
    main()
