"""Benchmark: AuthSession's per-request overhead, and refresh counts under concurrency.

Run with ``make bench`` (or ``.venv/bin/python bench/bench_session.py``). It starts the dev
server as a separate process (so the server's work does not share this process's GIL),
then prints:

1. the median per-request time of ``AuthSession`` against a plain ``httpx.Client`` with a
   static ``Authorization`` header, same server, same run, interleaved rounds; the ratio is
   the figure of merit (target: at most 1.05);
2. how many token-endpoint calls 50 concurrent async requests plus 8 threads cause on an
   expired token, for okta-nb-auth and for Authlib's ``OAuth2Client`` /
   ``AsyncOAuth2Client`` (counted in the dev server's event log).

Nothing here asserts a time: it prints figures for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from okta_nb_auth import AsyncAuthSession, AuthSession, OktaConfig, TokenSet

CLI = Path(sys.executable).parent / "okta-nb-auth"


@contextmanager
def dev_server() -> Iterator[str]:
    """Run ``okta-nb-auth devserver --port 0`` and yield its base URL."""
    proc = subprocess.Popen(
        [str(CLI), "devserver", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            raise SystemExit(f"dev server did not start: {line!r}")
        yield line.split()[1].removesuffix("/oauth2/default")
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


class Admin:
    """The dev server's /admin API (the server runs in another process)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base + "/admin")

    def login(self, app: str = "native") -> dict[str, Any]:
        body: dict[str, Any] = self.http.post("/login_as", json={"app": app}).json()
        return body

    def config(self, app: str = "native") -> OktaConfig:
        settings = self.http.get(f"/apps/{app}").json()
        return OktaConfig(
            issuer=self.base + "/oauth2/default",
            client_id=settings["client_id"],
            client_secret=settings["client_secret"],
            token_endpoint_auth_method=settings["token_endpoint_auth_method"],
        )

    def refreshes(self) -> int:
        events = self.http.get("/events").json()
        return sum(1 for e in events if e["grant_type"] == "refresh_token")

    def clear(self) -> None:
        self.http.post("/events/clear", json={})


def per_request(send: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        send()
    return (time.perf_counter() - started) / count


def overhead(admin: Admin, rounds: int, per_round: int) -> tuple[float, float]:
    body = admin.login()
    url = admin.base + "/api/whoami"
    plain = httpx.Client(headers={"Authorization": f"Bearer {body['access_token']}"})
    session = AuthSession(admin.config(), TokenSet.from_response(body))
    for client in (plain, session):  # warm up connections, discovery and JWKS
        for _ in range(50):
            client.get(url).raise_for_status()
    plain_times, session_times = [], []
    for _ in range(rounds):  # interleaved so drift hits both alike
        plain_times.append(per_request(lambda: plain.get(url), per_round))
        session_times.append(per_request(lambda: session.get(url), per_round))
    plain.close()
    session.close()
    return statistics.median(plain_times), statistics.median(session_times)


def client_side(admin: Admin, rounds: int, per_round: int) -> tuple[float, float]:
    """The same comparison with no server at all (a canned 200 from ``MockTransport``).

    This isolates what the auth flow itself costs per request, which the loopback round
    trip above dilutes.
    """
    body = admin.login()
    ok = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    url = "http://api.test/whoami"
    plain = httpx.Client(transport=ok, headers={"Authorization": f"Bearer {body['access_token']}"})
    session = AuthSession(admin.config(), TokenSet.from_response(body), transport=ok)
    plain_times, session_times = [], []
    for _ in range(rounds):
        plain_times.append(per_request(lambda: plain.get(url), per_round))
        session_times.append(per_request(lambda: session.get(url), per_round))
    plain.close()
    session.close()
    return statistics.median(plain_times), statistics.median(session_times)


def expired(body: dict[str, Any]) -> TokenSet:
    return TokenSet.from_response({**body, "expires_in": 0}, now=time.time() - 120)


def ours(admin: Admin, tasks: int, threads: int) -> int:
    admin.clear()
    body = admin.login()
    url = admin.base + "/api/whoami"
    session = AuthSession(admin.config(), expired(body))
    asession = AsyncAuthSession(admin.config(), tokens=None, okta_auth=session.auth)

    async def many() -> None:
        responses = await asyncio.gather(*(asession.get(url) for _ in range(tasks)))
        assert all(r.status_code == 200 for r in responses)

    workers = [
        threading.Thread(target=lambda: session.get(url).raise_for_status()) for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    asyncio.run(many())
    for worker in workers:
        worker.join()
    session.close()
    return admin.refreshes()


def authlib_counts(admin: Admin, tasks: int, threads: int) -> tuple[int, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Authlib 1.9 warns that its httpx module is deprecated
        from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client
    config = admin.config()
    token_endpoint = config.issuer + "/v1/token"
    url = admin.base + "/api/whoami"

    def token() -> dict[str, Any]:
        body = admin.login()
        return {**body, "expires_at": int(time.time()) - 120}

    admin.clear()
    sync = OAuth2Client(
        client_id=config.client_id,
        token=token(),
        token_endpoint=token_endpoint,
        token_endpoint_auth_method="none",
    )
    workers = [threading.Thread(target=lambda: sync.get(url)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    sync_count = admin.refreshes()

    admin.clear()

    async def many() -> None:
        async with AsyncOAuth2Client(
            client_id=config.client_id,
            token=token(),
            token_endpoint=token_endpoint,
            token_endpoint_auth_method="none",
        ) as client:
            await asyncio.gather(*(client.get(url) for _ in range(tasks)))

    asyncio.run(many())
    return sync_count, admin.refreshes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=200)
    args = parser.parse_args()
    with dev_server() as base:
        admin = Admin(base)
        plain, session = overhead(admin, args.rounds, args.per_round)
        print(f"per-request, plain httpx.Client + static header: {plain * 1e6:8.1f} us (median)")
        print(f"per-request, AuthSession:                         {session * 1e6:8.1f} us (median)")
        print(f"ratio AuthSession / plain: {session / plain:.3f} (target <= 1.05)")
        plain, session = client_side(admin, args.rounds, args.per_round * 5)
        print("client side only (MockTransport, no network):")
        print(
            f"  plain {plain * 1e6:.1f} us, AuthSession {session * 1e6:.1f} us, "
            f"auth flow adds {(session - plain) * 1e6:.1f} us per request"
        )
        print("token-endpoint calls for 50 async requests + 8 threads on an expired token:")
        print(
            f"  okta-nb-auth AuthSession + AsyncAuthSession (shared OktaAuth): {ours(admin, 50, 8)}"
        )
        sync_count, async_count = authlib_counts(admin, 50, 8)
        print(f"  Authlib OAuth2Client, 8 threads:       {sync_count}")
        print(f"  Authlib AsyncOAuth2Client, 50 tasks:   {async_count}")


if __name__ == "__main__":
    main()
