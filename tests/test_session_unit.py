"""Sessions over a scripted in-process Okta (httpx.MockTransport): concurrency and faults."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx
import pytest
from fake_okta import CLIENT_ID, ISSUER, FakeOkta, id_claims, sign

from okta_nb_auth import (
    AsyncAuthSession,
    AuthSession,
    ConfigError,
    DiscoveryCache,
    LoginRequired,
    OktaAuth,
    OktaConfig,
    TokenSet,
)

API = "https://api.example.com/data"
CONFIG = OktaConfig(ISSUER, CLIENT_ID)


def expired(id_token: bool = True) -> TokenSet:
    return TokenSet(
        access_token="at-old-abcdefghijklmnopqrstuvwxyz",
        expires_at=time.time() - 1,
        refresh_token="rt-old-abcdefghijklmnopqrst",
        id_token=sign(id_claims()) if id_token else None,
    )


def slow(fake: FakeOkta, seconds: float = 0.1) -> None:
    """Make the token endpoint slow, so concurrent requests really overlap."""

    def handler(request: httpx.Request) -> httpx.Response:
        time.sleep(seconds)
        with fake.lock:
            n = fake.counter
        return httpx.Response(200, json=fake.token_body(n, {"grant_type": "refresh_token"}))

    fake.token_script = [handler]


def auth(fake: FakeOkta, tokens: TokenSet | None = None, **kwargs: Any) -> OktaAuth:
    return OktaAuth(CONFIG, tokens or expired(), discovery=DiscoveryCache(), **kwargs)


def test_threads_single_flight() -> None:
    fake = FakeOkta()
    slow(fake)
    with AuthSession(CONFIG, okta_auth=auth(fake), transport=fake.transport()) as session:
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: session.get(API).status_code, range(8)))
    assert statuses == [200] * 8
    assert len(fake.token_calls) == 1
    assert fake.jwks_calls == 1 and fake.discovery_calls == 1


@pytest.mark.anyio
async def test_tasks_single_flight() -> None:
    fake = FakeOkta()
    slow(fake)
    results: list[int] = []
    async with AsyncAuthSession(CONFIG, okta_auth=auth(fake), transport=fake.transport()) as s:

        async def one() -> None:
            results.append((await s.get(API)).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(one)
    assert results == [200] * 50
    assert len(fake.token_calls) == 1


@pytest.mark.anyio
async def test_threads_and_tasks_sharing_one_auth_single_flight() -> None:
    fake = FakeOkta()
    slow(fake, 0.2)
    shared = auth(fake)
    sync = AuthSession(CONFIG, okta_auth=shared, transport=fake.transport())
    statuses: list[int] = []
    async with AsyncAuthSession(CONFIG, okta_auth=shared, transport=fake.transport()) as s:

        async def one() -> None:
            statuses.append((await s.get(API)).status_code)

        threads = [
            threading.Thread(target=lambda: statuses.append(sync.get(API).status_code))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(one)
        for thread in threads:
            await anyio.to_thread.run_sync(thread.join)
    sync.close()
    assert statuses == [200] * 58
    assert len(fake.token_calls) == 1


def test_failed_refresh_is_shared_by_concurrent_threads() -> None:
    fake = FakeOkta()

    def dead(request: httpx.Request) -> httpx.Response:
        time.sleep(0.2)
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": "gone"})

    fake.token_script = [dead, dead, dead]
    errors: list[BaseException] = []

    def call(session: AuthSession) -> None:
        try:
            session.get(API)
        except LoginRequired as exc:
            errors.append(exc)

    with AuthSession(CONFIG, okta_auth=auth(fake), transport=fake.transport()) as session:
        threads = [threading.Thread(target=call, args=(session,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with pytest.raises(LoginRequired):  # and later requests do not resend the dead token
            session.get(API)
    assert len(errors) == 8 and len(fake.token_calls) == 1


def test_token_responses_never_reach_history() -> None:
    fake = FakeOkta()
    fake.api_status = [401]
    fresh = TokenSet("at-live-abcdefghijklmnopqrstuv", time.time() + 3600, refresh_token="r" * 30)
    with AuthSession(CONFIG, okta_auth=auth(fake, fresh), transport=fake.transport()) as session:
        response = session.get(API)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert len(fake.token_calls) == 1
    for old in response.history:
        assert b"access_token" not in old.content and b"refresh_token" not in old.content


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sub": "00usomeoneelse"}, "another user"),
        ({"signing_kid": "rogue"}, "signing key"),
    ],
    ids=["another-user", "unknown-key"],
)
def test_an_id_token_that_fails_verification_is_dropped_not_the_tokens(
    change: dict[str, str], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeOkta()
    fake.rotate = True  # the refresh token we sent is gone: losing the new one logs out
    for name, value in change.items():
        setattr(fake, name, value)
    before = expired()
    kept: list[TokenSet] = []
    okta = auth(fake, before, on_tokens=kept.append)
    with AuthSession(CONFIG, okta_auth=okta, transport=fake.transport()) as s:
        assert s.get(API).status_code == 200
        tokens = s.tokens
        assert tokens is not None and kept == [tokens]
        assert tokens.refresh_token == "refresh-token-number-0001-abcdefghijkl"
        assert tokens.access_token.startswith("access-token-number-0001")
        assert tokens.id_token == before.id_token  # the verified old one, not the new one
        assert okta.id_claims is None and okta.last_error is None
    assert reason in caplog.text and "not kept" in caplog.text


def test_keys_unreachable_keeps_new_tokens_but_not_the_unverified_id_token() -> None:
    fake = FakeOkta()
    original = fake.handle

    def no_keys(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v1/keys"):
            raise httpx.ConnectError("down", request=request)
        return original(request)

    old = expired()
    transport = httpx.MockTransport(no_keys)
    with AuthSession(CONFIG, okta_auth=auth(fake, old), transport=transport) as s:
        assert s.get(API).status_code == 200
        assert s.tokens is not None
        assert s.tokens.access_token != old.access_token
        new_id_token = fake.token_body(1, {"grant_type": "refresh_token"})["id_token"]
        assert new_id_token != old.id_token  # each ID token differs (its jti), so the next
        assert s.tokens.id_token == old.id_token  # line tells the unverified one was dropped


def test_forced_refresh_logout_and_repr() -> None:
    fake = FakeOkta()
    fake.rotate = True
    seen: list[TokenSet] = []
    fresh = TokenSet("at-live-abcdefghijklmnopqrstuv", time.time() + 3600, refresh_token="r" * 30)
    session = AuthSession(CONFIG, fresh, on_tokens=seen.append, transport=fake.transport())
    with session:
        new = session.refresh()
        assert seen == [new] and new.refresh_token != "r" * 30
        assert "[masked]" in repr(session) and new.access_token not in repr(session)
        session.logout()
        assert session.tokens is None
    revokes = fake.token_calls[-2:]
    assert [r["token_type_hint"] for r in revokes] == ["refresh_token", "access_token"]
    assert revokes[0]["token"] == new.refresh_token


def test_client_credentials_session_fetches_again_after_expiry() -> None:
    fake = FakeOkta()
    config = OktaConfig(ISSUER, "svc", "s" * 40)
    now = [time.time()]
    cc = OktaAuth(config, grant="client_credentials", scopes=("demo.read",), clock=lambda: now[0])
    with AuthSession(config, okta_auth=cc, transport=fake.transport()) as s:
        s.get(API)
        s.get(API)
        assert len(fake.token_calls) == 1
        now[0] += 3600
        s.get(API)
        assert len(fake.token_calls) == 2
    assert all(call["grant_type"] == "client_credentials" for call in fake.token_calls)


def test_client_credentials_constructor() -> None:
    fake = FakeOkta()
    config = OktaConfig(ISSUER, "svc", "s" * 40)
    with AuthSession.client_credentials(config, ["demo.read"], transport=fake.transport()) as s:
        assert s.get(API).status_code == 200
        assert s.okta_auth.grant == "client_credentials" and s.tokens is not None
    assert fake.token_calls == [{"grant_type": "client_credentials", "scope": "demo.read"}]


def test_logout_clears_tokens_even_when_revocation_fails() -> None:
    fake = FakeOkta()
    original = fake.handle

    def refuse_revoke(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v1/revoke"):
            return httpx.Response(401, json={"error": "invalid_client", "error_description": "x"})
        return original(request)

    fresh = TokenSet("at-live-abcdefghijklmnopqrstuv", time.time() + 3600, refresh_token="r" * 30)
    transport = httpx.MockTransport(refuse_revoke)
    with AuthSession(CONFIG, fresh, transport=transport) as session:
        with pytest.raises(ConfigError, match="invalid_client"):
            session.logout()
        assert session.tokens is None


@pytest.mark.anyio
async def test_async_network_error_on_the_token_call_is_retried() -> None:
    fake = FakeOkta()
    original = fake.handle
    failures = [httpx.ConnectError("reset")]

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v1/token") and failures:
            raise failures.pop()
        return original(request)

    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    shared = auth(fake, async_sleep=record)
    transport = httpx.MockTransport(flaky)
    async with AsyncAuthSession(CONFIG, okta_auth=shared, transport=transport) as session:
        assert (await session.get(API)).status_code == 200
    assert pauses == [0.5] and len(fake.token_calls) == 1
