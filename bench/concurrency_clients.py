"""The clients of ``bench_concurrency``: each starts N requests at once on an expired token.

A driver takes a :class:`Login` (a fresh login of its own: a new token family) and the number
of concurrent requests, starts them all behind a barrier (``threading.Barrier`` for threads,
an ``asyncio.Event`` for tasks), makes one ``GET /api/whoami`` each and returns an
:class:`Outcome`. A request that does not get a 200 is a failure, whatever the reason.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from okta_nb_auth import AsyncAuthSession, AuthSession, OktaConfig, TokenSet

__all__ = ["DRIVERS", "Login", "Outcome"]

AsyncCall = Callable[[], Awaitable[int]]
JOIN_TIMEOUT = 60.0  # a thread still running then is counted as failed ("hung")


@dataclass
class Login:
    """A fresh login, expired at the server and given to the client as expired."""

    config: OktaConfig
    body: dict[str, Any]  # the token response (access, refresh and ID tokens)
    api: str  # the protected API's URL

    @property
    def token_endpoint(self) -> str:
        return self.config.issuer + "/v1/token"

    def expired_dict(self) -> dict[str, Any]:
        """The token response with ``expires_at`` two minutes ago (Authlib, requests-oauthlib)."""
        return {**self.body, "expires_in": 0, "expires_at": int(time.time()) - 120}

    def expired_tokens(self) -> TokenSet:
        return TokenSet.from_response({**self.body, "expires_in": 0}, now=time.time() - 120)


@dataclass
class Outcome:
    ok: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, result: object) -> None:
        if result == 200:
            self.ok += 1
            return
        self.failed += 1
        if isinstance(result, BaseException):
            self.errors[type(result).__name__] += 1
        else:
            self.errors[f"HTTP {result}"] += 1


def in_threads(count: int, call: Callable[[], int]) -> Outcome:
    """``call()`` in ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)
    results: list[object] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            result: object = call()
        except BaseException as exc:  # counted: the report tallies every failure
            result = exc
        with lock:
            results.append(result)

    workers = [threading.Thread(target=work, daemon=True) for _ in range(count)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + JOIN_TIMEOUT
    for worker in workers:
        worker.join(max(deadline - time.monotonic(), 0.1))
    outcome = Outcome()
    with lock:
        for result in results:
            outcome.add(result)
    for _ in range(count - len(results)):
        outcome.add(TimeoutError("hung"))
    return outcome


def in_tasks(count: int, make: Callable[[], AbstractAsyncContextManager[AsyncCall]]) -> Outcome:
    """``await call()`` in ``count`` tasks released together by an ``asyncio.Event``.

    ``make()`` opens the client inside the event loop that uses it and yields ``call``.
    """

    async def main() -> list[object]:
        go = asyncio.Event()
        async with make() as call:

            async def one() -> int:
                await go.wait()
                return await call()

            tasks = [asyncio.create_task(one()) for _ in range(count)]
            await asyncio.sleep(0)  # every task is now waiting on the event
            go.set()
            gathered = asyncio.gather(*tasks, return_exceptions=True)
            return list(await asyncio.wait_for(gathered, JOIN_TIMEOUT))

    outcome = Outcome()
    for result in asyncio.run(main()):
        outcome.add(result)
    return outcome


# ------------------------------------------------------------------ okta-nb-auth


def ours_threads(login: Login, count: int) -> Outcome:
    with AuthSession(login.config, login.expired_tokens()) as session:
        return in_threads(count, lambda: session.get(login.api).status_code)


def ours_tasks(login: Login, count: int) -> Outcome:
    @asynccontextmanager
    async def make() -> AsyncIterator[AsyncCall]:
        async with AsyncAuthSession(login.config, login.expired_tokens()) as session:

            async def call() -> int:
                return (await session.get(login.api)).status_code

            yield call

    return in_tasks(count, make)


# ------------------------------------------------------------------ Authlib


def _authlib() -> Any:
    with warnings.catch_warnings(record=True):  # record: Authlib re-enables its warning
        warnings.simplefilter("ignore")  # Authlib 1.9 warns that its httpx module is deprecated
        from authlib.integrations import httpx_client
    return httpx_client


def authlib_threads(login: Login, count: int) -> Outcome:
    client = _authlib().OAuth2Client(
        client_id=login.config.client_id,
        token=login.expired_dict(),
        token_endpoint=login.token_endpoint,
        token_endpoint_auth_method="none",
    )
    with client:
        return in_threads(count, lambda: client.get(login.api).status_code)


def authlib_tasks(login: Login, count: int) -> Outcome:
    module = _authlib()

    @asynccontextmanager
    async def make() -> AsyncIterator[AsyncCall]:
        async with module.AsyncOAuth2Client(
            client_id=login.config.client_id,
            token=login.expired_dict(),
            token_endpoint=login.token_endpoint,
            token_endpoint_auth_method="none",
        ) as client:

            async def call() -> int:
                return int((await client.get(login.api)).status_code)

            yield call

    return in_tasks(count, make)


# ------------------------------------------------------------------ httpx-auth


class BrowserLogin(Exception):
    """httpx-auth fell back to a browser login (stubbed: no browser, no listener)."""


def _httpx_auth(login: Login) -> Any:
    """httpx-auth's PKCE auth holding the expired login; its browser login is stubbed."""
    import httpx_auth

    auth = httpx_auth.OAuth2AuthorizationCodePKCE(
        login.config.issuer + "/v1/authorize",
        login.token_endpoint,
        client_id=login.config.client_id,
        early_expiry=0,
    )

    def browser_login() -> tuple[str, str]:
        raise BrowserLogin("httpx-auth would open a browser to log in again")

    auth.request_new_token = browser_login
    past = time.time() - 120
    body = login.body
    httpx_auth.OAuth2.token_cache._add_token(
        auth.state, body["access_token"], past, body["refresh_token"]
    )
    return auth


def httpx_auth_threads(login: Login, count: int) -> Outcome:
    with httpx.Client(auth=_httpx_auth(login), timeout=30) as client:
        return in_threads(count, lambda: client.get(login.api).status_code)


def httpx_auth_tasks(login: Login, count: int) -> Outcome:
    """Under ``httpx.AsyncClient`` httpx-auth's flow still refreshes with a blocking client."""
    auth = _httpx_auth(login)

    @asynccontextmanager
    async def make() -> AsyncIterator[AsyncCall]:
        async with httpx.AsyncClient(auth=auth, timeout=30) as client:

            async def call() -> int:
                return (await client.get(login.api)).status_code

            yield call

    return in_tasks(count, make)


# ------------------------------------------------------------------ requests-oauthlib


def requests_oauthlib_threads(login: Login, count: int) -> Outcome:
    from requests_oauthlib import OAuth2Session

    # oauthlib refuses http:// URLs unless told; the dev server is plain http on loopback.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    client_id = login.config.client_id
    session = OAuth2Session(
        client_id,
        token=login.expired_dict(),
        auto_refresh_url=login.token_endpoint,
        auto_refresh_kwargs={"client_id": client_id},
        token_updater=lambda token: None,  # the session keeps the new token itself
    )
    with session:
        return in_threads(count, lambda: session.get(login.api, timeout=30).status_code)


# ------------------------------------------------------------------ okta-client-python


def okta_client_tasks(login: Login, count: int) -> Outcome:
    """okta-client-python has no HTTP-client integration: the glue its README suggests.

    Each task refreshes through ``OAuth2Client.refresh(token)`` when the shared token has
    expired (the SDK coalesces concurrent refreshes of one refresh token) and sends the
    access token with httpx.
    """
    from okta_client import authfoundation as af

    config = af.OAuth2ClientConfiguration(
        issuer=login.config.issuer,
        scope=login.body.get("scope", "openid"),
        client_authorization=af.ClientIdAuthorization(id=login.config.client_id),
    )
    oauth = af.OAuth2Client(configuration=config)
    context = af.TokenContext(issuer=login.config.issuer, client_id=login.config.client_id)
    body = {key: value for key, value in login.body.items() if key != "id_token"}
    state = {"token": af.Token.from_response(body, context=context, issued_at=time.time() - 7200)}

    @asynccontextmanager
    async def make() -> AsyncIterator[AsyncCall]:
        async with httpx.AsyncClient(timeout=30) as client:

            async def call() -> int:
                token = state["token"]
                if token.is_expired:
                    token = state["token"] = await oauth.refresh(token)
                headers = {"Authorization": f"Bearer {token.access_token}"}
                return (await client.get(login.api, headers=headers)).status_code

            yield call

    return in_tasks(count, make)


#: client name -> (mode, driver); mode "threads" (sync) or "tasks" (asyncio).
DRIVERS: dict[str, dict[str, Callable[[Login, int], Outcome]]] = {
    "okta-nb-auth": {"threads": ours_threads, "tasks": ours_tasks},
    "Authlib": {"threads": authlib_threads, "tasks": authlib_tasks},
    "httpx-auth": {"threads": httpx_auth_threads, "tasks": httpx_auth_tasks},
    "requests-oauthlib": {"threads": requests_oauthlib_threads},
    "okta-client-python": {"tasks": okta_client_tasks},
}
