"""Part 2 of ``bench_store``: the per-request cost of a session with a FileStore, and its file
calls, with ``httpx.MockTransport`` (no server)."""

from __future__ import annotations

import builtins
import functools
import io
import os
import random
import secrets
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from benchkit import per_request

from okta_nb_auth import AuthSession, OktaConfig, TokenSet
from okta_nb_auth.store import FileStore

__all__ = ["request_cost"]


API_URL = "http://api.test/whoami"


def bench_tokens() -> TokenSet:
    """A fresh, distinct login valid for 12 hours (distinct: sessions must not share a holder)."""
    return TokenSet(
        access_token=secrets.token_urlsafe(600),  # about as long as an Okta JWT
        expires_at=time.time() + 12 * 3600,
        refresh_token=secrets.token_urlsafe(32),
        scope="openid email profile offline_access",
    )


class Recorder:
    """A MockTransport handler: a canned 200, and every URL it was asked for."""

    def __init__(self) -> None:
        self.urls: Counter[str] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls[str(request.url)] += 1
        return httpx.Response(200, json={"ok": True})


def mock_clients(directory: str, recorder: Recorder) -> dict[str, httpx.Client]:
    """The three clients under test, all on one MockTransport."""
    transport = httpx.MockTransport(recorder)
    config = OktaConfig(issuer="https://bench.okta.test/oauth2/default", client_id="bench")
    plain_header = {"Authorization": f"Bearer {bench_tokens().access_token}"}
    no_store = AuthSession(config, bench_tokens(), transport=transport)
    with_store = AuthSession(
        config, bench_tokens(), store=FileStore(directory), transport=transport
    )
    assert no_store.okta_auth.store is None
    assert with_store.okta_auth.store is not None and with_store.okta_auth.stored is not None
    assert with_store.okta_auth is not no_store.okta_auth
    return {
        "plain": httpx.Client(transport=transport, headers=plain_header),
        "no store": no_store,
        "FileStore": with_store,
    }


def generations(clients: dict[str, httpx.Client]) -> dict[str, int]:
    """Each session's token generation (it changes on every refresh or adoption)."""
    return {
        name: client.okta_auth._generation
        for name, client in clients.items()
        if isinstance(client, AuthSession)
    }


@contextmanager
def counting_file_calls() -> Iterator[Counter[str]]:
    """Count ``os.open``, ``os.stat``, ``os.lstat`` and ``open`` calls in this process."""
    calls: Counter[str] = Counter()
    originals: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[label] += 1
            return original(*args, **kwargs)

        originals.append((owner, name, original))
        setattr(owner, name, counted)

    for owner, name, label in (
        (os, "open", "os.open"),
        (os, "stat", "os.stat"),
        (os, "lstat", "os.lstat"),
        (builtins, "open", "open"),
        (io, "open", "io.open"),
    ):
        wrap(owner, name, label)
    try:
        yield calls
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)


def file_calls(send: Callable[[], object], count: int) -> Counter[str]:
    """The file calls ``count`` sends make."""
    with counting_file_calls() as calls:
        for _ in range(count):
            send()
    return calls


def control_count(session: httpx.Client, directory: str) -> Counter[str]:
    """The file calls of one ``FileStore.load`` of the session's entry: the counter works."""
    assert isinstance(session, AuthSession)
    entry = session.okta_auth.stored
    assert entry is not None
    with counting_file_calls() as calls:
        FileStore(directory).load(entry.key)
    return calls


def request_cost(rounds: int, per_round: int, rng: random.Random) -> dict[str, Any]:
    """Part 2: interleaved, shuffled rounds; medians per request and ratios."""
    recorder = Recorder()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as directory:
        clients = mock_clients(directory, recorder)
        before = generations(clients)
        for client in clients.values():  # warm-up
            per_request(functools.partial(client.get, API_URL), 200)
        times: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(rounds):
            order = list(clients)
            rng.shuffle(order)
            for name in order:
                client = clients[name]
                times[name].append(per_request(functools.partial(client.get, API_URL), per_round))
        counted = {
            name: file_calls(functools.partial(clients[name].get, API_URL), per_round)
            for name in ("FileStore", "no store")
        }
        control = control_count(clients["FileStore"], directory)
        after = generations(clients)
        for client in clients.values():
            client.close()
    medians = {name: statistics.median(values) for name, values in times.items()}
    _print_cost(rounds, per_round, medians, counted, control, before, after, recorder)
    refreshed = sum(after[name] - before[name] for name in after)
    others = sum(n for url, n in recorder.urls.items() if url != API_URL)
    ratios = {
        name: statistics.median(a / b for a, b in zip(times[name], times["plain"], strict=True))
        for name in ("no store", "FileStore")
    }
    ratios["store vs no store"] = statistics.median(
        a / b for a, b in zip(times["FileStore"], times["no store"], strict=True)
    )
    return {
        "medians": medians,
        "ratios": ratios,
        "file_calls": sum(counted["FileStore"].values()),
        "control": sum(control.values()),
        "refreshed": refreshed,
        "others": others,
    }


def _print_cost(
    rounds: int,
    per_round: int,
    medians: dict[str, float],
    counted: dict[str, Counter[str]],
    control: Counter[str],
    before: dict[str, int],
    after: dict[str, int],
    recorder: Recorder,
) -> None:
    print(
        f"\n2. per-request cost, MockTransport (no server), {rounds} shuffled rounds of "
        f"{per_round} requests per client, median per request:"
    )
    for name, value in medians.items():
        print(f"  {name:<10} {value * 1e6:7.2f} us")
    plain = medians["plain"]
    print(f"  ratio FileStore / no store: {medians['FileStore'] / medians['no store']:.3f}")
    print(f"  ratio no store / plain:     {medians['no store'] / plain:.3f}")
    print(f"  ratio FileStore / plain:    {medians['FileStore'] / plain:.3f}")
    for name, calls in counted.items():
        print(f"  file calls in {per_round} requests, {name}: {sum(calls.values())} {dict(calls)}")
    print(f"  (control: one FileStore.load() under the same counter: {dict(control)})")
    refreshed = {name: after[name] - before[name] for name in after}
    others = sorted(url for url in recorder.urls if url != API_URL)
    print(f"  generations changed (refreshes): {refreshed}; non-API requests: {others or 0}")
