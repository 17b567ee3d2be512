"""AuthSession / AsyncAuthSession against the running dev server: refresh, concurrency, replay.

Expiry is reached by moving the server's clock and the client's injected clock together,
so no test waits for a token to expire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx
import pytest
from devserver_helpers import oauth_events

from okta_nb_auth import AsyncAuthSession, AuthSession, LoginRequired, OktaAuth, TokenSet
from okta_nb_auth.devserver import DevServer

ADA = "ada@example.com"


class Clock:
    """The client's clock: real time plus an offset the test moves with the server's."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def advance(dev: DevServer, clock: Clock, seconds: float) -> None:
    dev.advance_clock(seconds)
    clock.offset += seconds


def refreshes(dev: DevServer) -> list[Any]:
    return [e for e in dev.events if e.endpoint == "token" and e.grant_type == "refresh_token"]


def make_auth(dev: DevServer, clock: Clock, app: str = "native", **kwargs: Any) -> OktaAuth:
    tokens = kwargs.pop("tokens", None) or dev.login_as(ADA, app)
    return OktaAuth(dev.config(app), tokens, clock=clock, **kwargs)


def whoami(dev: DevServer) -> str:
    return f"{dev.api_url}/whoami"


def test_expiry_causes_exactly_one_refresh(fresh_dev: DevServer) -> None:
    clock = Clock()
    seen: list[TokenSet] = []
    auth = make_auth(fresh_dev, clock, on_tokens=seen.append)
    with AuthSession(auth.config, okta_auth=auth) as session:
        assert session.get(whoami(fresh_dev)).json()["sub"] == ADA
        assert refreshes(fresh_dev) == []
        advance(fresh_dev, clock, 3600)
        for _ in range(3):
            assert session.get(whoami(fresh_dev)).status_code == 200
    assert len(refreshes(fresh_dev)) == 1
    assert len(seen) == 1 and seen[0] is auth.tokens
    assert auth.id_claims is not None and auth.id_claims["aud"] == auth.config.client_id


@pytest.mark.anyio
async def test_expiry_causes_exactly_one_refresh_async(fresh_dev: DevServer) -> None:
    clock = Clock()
    auth = make_auth(fresh_dev, clock)
    async with AsyncAuthSession(auth.config, okta_auth=auth) as session:
        advance(fresh_dev, clock, 3600)
        for _ in range(3):
            assert (await session.get(whoami(fresh_dev))).status_code == 200
    assert len(refreshes(fresh_dev)) == 1


def test_eight_threads_one_refresh(fresh_dev: DevServer) -> None:
    clock = Clock()
    auth = make_auth(fresh_dev, clock)
    advance(fresh_dev, clock, 3600)
    fresh_dev.inject_fault(latency=0.3)  # the refresh is slow: every thread finds it expired
    with AuthSession(auth.config, okta_auth=auth) as session, ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: session.get(whoami(fresh_dev)).status_code, range(8)))
    assert codes == [200] * 8
    assert len(refreshes(fresh_dev)) == 1


@pytest.mark.anyio
async def test_fifty_tasks_plus_eight_threads_one_token_call(fresh_dev: DevServer) -> None:
    clock = Clock()
    auth = make_auth(fresh_dev, clock)
    advance(fresh_dev, clock, 3600)
    fresh_dev.clear_events()
    fresh_dev.inject_fault(latency=0.3)
    codes: list[int] = []
    sync = AuthSession(auth.config, okta_auth=auth)
    threads = [
        threading.Thread(target=lambda: codes.append(sync.get(whoami(fresh_dev)).status_code))
        for _ in range(8)
    ]
    async with AsyncAuthSession(auth.config, okta_auth=auth) as session:

        async def one() -> None:
            codes.append((await session.get(whoami(fresh_dev))).status_code)

        for thread in threads:
            thread.start()
        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(one)
        for thread in threads:
            await anyio.to_thread.run_sync(thread.join)
    sync.close()
    assert codes == [200] * 58
    assert len([e for e in fresh_dev.events if e.endpoint == "token"]) == 1


@pytest.mark.anyio
async def test_rotation_without_grace_never_hits_invalid_grant(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=300)
    clock = Clock()
    auth = make_auth(fresh_dev, clock)
    sync = AuthSession(auth.config, okta_auth=auth)
    codes: list[int] = []
    async with AsyncAuthSession(auth.config, okta_auth=auth) as session:

        async def one() -> None:
            codes.append((await session.get(whoami(fresh_dev))).status_code)

        for _ in range(3):  # three expiries, each crossed by 20 tasks and 4 threads at once
            advance(fresh_dev, clock, 300)
            before = auth.tokens.refresh_token if auth.tokens else None
            threads = [
                threading.Thread(
                    target=lambda: codes.append(sync.get(whoami(fresh_dev)).status_code)
                )
                for _ in range(4)
            ]
            for thread in threads:
                thread.start()
            async with anyio.create_task_group() as group:
                for _ in range(20):
                    group.start_soon(one)
            for thread in threads:
                await anyio.to_thread.run_sync(thread.join)
            assert auth.tokens is not None and auth.tokens.refresh_token != before  # rotated
    sync.close()
    assert codes == [200] * 72
    assert [e.error for e in fresh_dev.events if e.error] == []
    assert len(refreshes(fresh_dev)) == 3


def test_401_refresh_and_replay(fresh_dev: DevServer) -> None:
    clock = Clock()
    auth = make_auth(fresh_dev, clock)
    with AuthSession(auth.config, okta_auth=auth) as session:
        session.get(whoami(fresh_dev))
        fresh_dev.expire_access_tokens(ADA)  # the client still thinks its token is valid
        response = session.get(whoami(fresh_dev))
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert "WWW-Authenticate" in response.history[0].headers
    assert len(refreshes(fresh_dev)) == 1


@pytest.mark.anyio
async def test_401_refresh_and_replay_async(fresh_dev: DevServer) -> None:
    auth = make_auth(fresh_dev, Clock())
    async with AsyncAuthSession(auth.config, okta_auth=auth) as session:
        fresh_dev.expire_access_tokens(ADA)
        response = await session.get(whoami(fresh_dev))
    assert response.status_code == 200 and len(response.history) == 1
    assert len(refreshes(fresh_dev)) == 1


def test_server_clock_ahead_is_handled_by_the_date_header(fresh_dev: DevServer) -> None:
    # The server's clock jumps an hour ahead; ours does not. The API rejects the token, the
    # client refreshes, and the new ID token (issued "an hour in the future" by our clock)
    # still verifies because the skew comes from the token response's Date header.
    auth = OktaAuth(fresh_dev.config(), fresh_dev.login_as(ADA))
    fresh_dev.advance_clock(3600)
    with AuthSession(auth.config, okta_auth=auth) as session:
        assert session.get(whoami(fresh_dev)).status_code == 200
    assert auth.skew == pytest.approx(3600, abs=5)


def test_forced_refresh_and_logout(fresh_dev: DevServer) -> None:
    tokens = fresh_dev.login_as(ADA)
    with AuthSession(fresh_dev.config(), tokens) as session:
        refreshed = session.refresh()
        assert refreshed.access_token != tokens.access_token
        session.logout()
        assert session.tokens is None
    revokes = [e for e in fresh_dev.events if e.endpoint == "revoke"]
    assert [e.status for e in revokes] == [200, 200]
    # The revoked refresh token is dead at the server.
    with AuthSession(fresh_dev.config(), refreshed) as again, pytest.raises(LoginRequired):
        again.refresh()


def test_key_rotation_is_picked_up(fresh_dev: DevServer) -> None:
    with AuthSession(fresh_dev.config(), fresh_dev.login_as(ADA)) as session:
        session.refresh()
        fresh_dev.rotate_keys()
        session.refresh()
        assert session.okta_auth.id_claims is not None


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_client_credentials(fresh_dev: DevServer, kind: str) -> None:
    config = fresh_dev.config("service")
    clock = Clock()

    def run(call: Callable[[AuthSession], Any]) -> None:
        auth = OktaAuth(config, grant="client_credentials", scopes=("demo.read",), clock=clock)
        with AuthSession(config, okta_auth=auth) as session:
            call(session)

    def sync_calls(session: AuthSession) -> None:
        assert session.get(f"{fresh_dev.api_url}/reports").status_code == 200
        advance(fresh_dev, clock, 3600)
        assert session.get(f"{fresh_dev.api_url}/reports").status_code == 200

    async def async_calls() -> None:
        async with AsyncAuthSession.client_credentials(config, ["demo.read"]) as session:
            assert (await session.get(f"{fresh_dev.api_url}/reports")).status_code == 200
            assert session.tokens is not None and session.tokens.refresh_token is None

    if kind == "sync":
        run(sync_calls)
        expected = 2
    else:
        anyio.run(async_calls)
        expected = 1
    calls = [e for e in fresh_dev.events if e.endpoint == "token"]
    assert [e.grant_type for e in calls] == ["client_credentials"] * expected
    assert all(e.status == 200 for e in calls)


def test_a_wrong_audience_401_refreshes_only_once(fresh_dev: DevServer) -> None:
    # Org-server tokens are not for this API: it keeps answering 401. One refresh and one
    # replay are tried; later requests get the 401 straight back instead of a refresh each.
    config = fresh_dev.config(org=True)
    with AuthSession(config, fresh_dev.login_as(ADA, org=True)) as session:
        statuses = [session.get(whoami(fresh_dev)).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    assert len(refreshes(fresh_dev)) == 1


@pytest.mark.anyio
async def test_forced_refresh_and_logout_async(fresh_dev: DevServer) -> None:
    tokens = fresh_dev.login_as(ADA)
    seen: list[TokenSet] = []
    async with AsyncAuthSession(fresh_dev.config(), tokens, on_tokens=seen.append) as session:
        refreshed = await session.refresh()
        assert seen == [refreshed] and refreshed.access_token != tokens.access_token
        await session.logout()
        assert session.tokens is None
    assert [e.endpoint for e in oauth_events(fresh_dev)] == ["token", "revoke", "revoke"]


def test_no_tokens_yet_says_log_in_first(fresh_dev: DevServer) -> None:
    with AuthSession(fresh_dev.config()) as session, pytest.raises(LoginRequired, match="log in"):
        session.get(whoami(fresh_dev))
    assert oauth_events(fresh_dev) == []


def test_standalone_auth_uses_and_closes_its_own_client(fresh_dev: DevServer) -> None:
    # Without a session, OktaAuth sends token calls with a client of its own.
    tokens = fresh_dev.login_as(ADA)
    standalone = OktaAuth(fresh_dev.config(), tokens)
    with httpx.Client(auth=standalone) as client:
        client.get(f"{fresh_dev.api_url}/whoami")
        fresh_dev.expire_access_tokens(ADA)
        assert client.get(f"{fresh_dev.api_url}/whoami").status_code == 200
    standalone.close()
    assert [e.grant_type for e in oauth_events(fresh_dev)] == ["refresh_token"]


@pytest.mark.anyio
async def test_standalone_auth_async(fresh_dev: DevServer) -> None:
    standalone = OktaAuth(fresh_dev.config(), fresh_dev.login_as(ADA))
    async with httpx.AsyncClient(auth=standalone) as client:
        fresh_dev.expire_access_tokens(ADA)
        assert (await client.get(f"{fresh_dev.api_url}/whoami")).status_code == 200
    await standalone.aclose()
    assert [e.grant_type for e in oauth_events(fresh_dev)] == ["refresh_token"]
