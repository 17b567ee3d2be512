"""The load side of ``bench_devserver``: token requests from client threads, counted.

:class:`Grants` prepares each client's request once (client credentials for app ``service``,
a refresh of its own refresh token for app ``web``, Basic auth); :func:`run_cell` posts them
from threads started behind a barrier, each on its own keep-alive connection (``raw_http``),
and counts successes (a 200 that carries the grant's JWTs) and failures.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import raw_http

__all__ = ["SIGNATURES", "TOKENS", "Cell", "Grants", "run_cell", "sample_claims"]

#: The JWTs a successful grant's body must carry; each is one signature.
TOKENS = {
    "client_credentials": (b'"access_token"',),
    "refresh_token": (b'"access_token"', b'"id_token"'),
}
SIGNATURES = {grant: len(tokens) for grant, tokens in TOKENS.items()}
FORM = "application/x-www-form-urlencoded"
MAX_REQUESTS = 1_000_000  # bound on one cell's requests per client, whatever the clock does


@dataclass
class Cell:
    """One measured run: successes, failures, wall seconds, server CPU seconds."""

    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    cpu: float = 0.0


class Grants:
    """One token request per grant type and client, encoded once (the client's share of the
    CPU is kept small: it runs on the same two cores as the server)."""

    def __init__(self, base: str, clients: int) -> None:
        admin = httpx.Client(base_url=base + "/admin")
        self.token_url = base + "/oauth2/default/v1/token"
        self.auth = {app: self._basic(admin, app) for app in ("service", "web")}
        self.refresh = [self._login(admin) for _ in range(clients)]
        admin.close()

    @staticmethod
    def _basic(admin: httpx.Client, app: str) -> str:
        settings = admin.get(f"/apps/{app}").json()
        pair = f"{settings['client_id']}:{settings['client_secret']}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    @staticmethod
    def _login(admin: httpx.Client) -> str:
        body = admin.post("/login_as", json={"app": "web"}).json()
        return str(body["refresh_token"])

    def request(self, grant: str, client: int) -> bytes:
        """The bytes of ``client``'s ``grant`` request, as httpx would send them."""
        if grant == "client_credentials":
            form, app = {"grant_type": grant, "scope": "demo.read"}, "service"
        else:
            form, app = {"grant_type": grant, "refresh_token": self.refresh[client]}, "web"
        headers = {"Authorization": self.auth[app], "Content-Type": FORM}
        return raw_http.post_request(self.token_url, urlencode(form).encode(), headers)


def run_cell(
    grants: Grants, server_cpu: Callable[[], float], grant: str, clients: int, t: float
) -> Cell:
    """``clients`` threads post ``grant`` for ``t`` seconds, started behind a barrier, each on
    its own keep-alive connection (``raw_http``: the load generator's CPU stays small)."""
    barrier = threading.Barrier(clients + 1)
    counts = [Cell() for _ in range(clients)]

    def work(index: int) -> None:
        request, expected = grants.request(grant, index), TOKENS[grant]
        connection = raw_http.Connection(grants.token_url)
        try:
            barrier.wait()
            _post_until(connection, request, expected, counts[index], time.perf_counter() + t)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before, started = server_cpu(), time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    return Cell(
        ok=sum(c.ok for c in counts),
        failed=sum(c.failed for c in counts),
        seconds=time.perf_counter() - started,
        cpu=server_cpu() - cpu_before,
    )


def _post_until(
    connection: raw_http.Connection,
    request: bytes,
    expected: tuple[bytes, ...],
    count: Cell,
    deadline: float,
    limit: int = MAX_REQUESTS,
) -> None:
    """Post ``request`` until ``deadline`` (at most ``limit`` times); a success is a 200 that
    carries every token of ``expected`` (so each counted signature is in a body the client
    received)."""
    for _ in range(limit):
        if time.perf_counter() >= deadline:
            break
        try:
            status, body = connection.exchange(request)
        except (OSError, raw_http.HttpError):  # the connection is unusable: this client stops
            count.failed += 1
            return
        ok = status == 200 and all(name in body for name in expected)
        count.ok += ok
        count.failed += not ok


def sample_claims(grants: Grants) -> dict[str, Any]:
    """The claims of an access token the dev server issued (unverified: only its shape)."""
    connection = raw_http.Connection(grants.token_url)
    try:
        _, body = connection.exchange(grants.request("client_credentials", 0))
    finally:
        connection.close()
    token = json.loads(body)["access_token"]
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims
