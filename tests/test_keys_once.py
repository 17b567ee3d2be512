"""Keys and discovery are fetched once per process per issuer, whatever the number of sessions
and verifications, counted in the running dev server's event log. A key rotation costs one
refetch for all of them, and a failed refetch keeps the last good keys for all of them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from okta_nb_auth import AsyncAuthSession, AuthSession, OktaConfig, verify_access_token
from okta_nb_auth.devserver import DevServer

ADA = "ada@example.com"


def fetches(dev: DevServer, endpoint: str) -> int:
    """Key-set (``keys``) or discovery fetches the dev server has answered."""
    return sum(1 for event in dev.events if event.endpoint == endpoint)


def service_token(dev: DevServer) -> str:
    config = dev.config("service")
    answer = httpx.post(
        config.issuer + "/v1/token",
        data={"grant_type": "client_credentials", "scope": "demo.read"},
        auth=(config.client_id, config.client_secret or ""),
    )
    return str(answer.json()["access_token"])


def verify_service_tokens(dev: DevServer, count: int) -> None:
    config = dev.config("service")
    for _ in range(count):
        claims = verify_access_token(service_token(dev), config, client_ids=[config.client_id])
        assert claims["cid"] == config.client_id


def test_twenty_sessions_and_verifications_fetch_keys_and_discovery_once(
    fresh_dev: DevServer,
) -> None:
    config = fresh_dev.config("native")
    for _ in range(20):  # a new session (so a new OktaAuth) each time
        with AuthSession(config, fresh_dev.login_as(ADA)) as session:
            session.refresh()  # verifies the login's ID token and the new one
            assert session.okta_auth.id_claims is not None
    verify_service_tokens(fresh_dev, 3)
    assert (fetches(fresh_dev, "keys"), fetches(fresh_dev, "discovery")) == (1, 1)


@pytest.mark.anyio
async def test_async_sessions_share_the_keys_of_sync_ones(fresh_dev: DevServer) -> None:
    config = fresh_dev.config("native")
    verify_service_tokens(fresh_dev, 1)
    for _ in range(10):
        async with AsyncAuthSession(config, fresh_dev.login_as(ADA)) as session:
            await session.refresh()
            assert session.okta_auth.id_claims is not None
        with AuthSession(config, fresh_dev.login_as(ADA)) as sync:
            sync.refresh()
            assert sync.okta_auth.id_claims is not None
    assert (fetches(fresh_dev, "keys"), fetches(fresh_dev, "discovery")) == (1, 1)


def test_a_key_rotation_costs_one_refetch_for_all_sessions(fresh_dev: DevServer) -> None:
    config = fresh_dev.config("native")
    sessions = [AuthSession(config, fresh_dev.login_as(ADA)) for _ in range(5)]
    try:
        for session in sessions:
            session.refresh()
        before = {session.okta_auth.id_claims["jti"] for session in sessions}  # type: ignore[index]
        fresh_dev.rotate_keys()
        fresh_dev.rotate_keys()  # the signing key is now one the cached set has never seen
        for session in sessions:
            session.refresh()
        after = {session.okta_auth.id_claims["jti"] for session in sessions}  # type: ignore[index]
        verify_service_tokens(fresh_dev, 2)
    finally:
        for session in sessions:
            session.close()
    assert len(after) == 5 and not before & after  # every new ID token was verified and kept
    assert fetches(fresh_dev, "keys") == 2


class KeysDown(httpx.BaseTransport):
    """Loopback HTTP, except that fetching the key set fails as a network error would."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.refused = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v1/keys"):
            self.refused += 1
            raise httpx.ConnectError("down", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def keys_down() -> Iterator[KeysDown]:
    transport = KeysDown()
    yield transport
    transport.close()


def test_a_failed_refetch_keeps_the_last_good_keys_for_every_session(
    fresh_dev: DevServer, keys_down: KeysDown
) -> None:
    config: OktaConfig = fresh_dev.config("native")
    clock = fresh_dev.now  # the sessions' clock (equal clocks share one key set)
    with AuthSession(config, fresh_dev.login_as(ADA), clock=clock) as first:
        first.refresh()
        fresh_dev.advance_clock(86400 + 1)  # past the cached set's longest lifetime
        tokens = fresh_dev.login_as(ADA)
        with AuthSession(config, tokens, clock=fresh_dev.now, transport=keys_down) as second:
            second.refresh()  # the due refetch fails: the last good keys verify the ID token
            assert second.okta_auth.id_claims is not None
            assert second.okta_auth.tokens is not None and second.okta_auth.tokens.id_token
        assert keys_down.refused == 1
        first.refresh()  # within the retry delay: no fetch, the same keys
        assert first.okta_auth.id_claims is not None and fetches(fresh_dev, "keys") == 1
        fresh_dev.advance_clock(61)
        first.refresh()  # after it: fetched again, through a working network
        assert fetches(fresh_dev, "keys") == 2 and keys_down.refused == 1
