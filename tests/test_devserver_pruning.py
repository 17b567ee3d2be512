"""Pruning: what has expired on the server's clock leaves the tables a little at each write,
what is still valid stays, and a pruned token gets the answer an expired or unknown one gets.
Family revocation goes through the family index, never a scan of every access token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from devserver_helpers import (
    ADA,
    DEFAULT,
    GRACE,
    RT_INVALID,
    api,
    assert_error,
    client,
    device_poll,
    device_start,
    exchange,
    login_code,
    post,
    refresh,
)

from okta_nb_auth.devserver import DevServer
from okta_nb_auth.devserver._state import Store
from okta_nb_auth.devserver._sweep import RETAIN, SWEEP_BATCH, Table

DEVICE_INVALID = "The device code is invalid or has expired."
CODE_INVALID = "The authorization code is invalid or has expired."


@pytest.fixture
def fresh(fresh_dev: DevServer) -> Iterator[tuple[DevServer, httpx.Client]]:
    with client(fresh_dev) as http:
        yield fresh_dev, http


def store(dev: DevServer) -> Store:
    return dev.authority.store


def jti(access_token: str) -> str:
    return str(jwt.decode(access_token, options={"verify_signature": False})["jti"])


def write(dev: DevServer) -> None:
    """Any write lets the server prune: here a login of another user."""
    dev.login_as(GRACE, "native")


def introspect(http: httpx.Client, dev: DevServer, app: str, value: str) -> dict[str, Any]:
    response = post(http, dev, app, f"{DEFAULT}/introspect", {"token": value})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_expired_access_tokens_go_and_valid_ones_stay(
    fresh: tuple[DevServer, httpx.Client],
) -> None:
    dev, http = fresh
    dev.configure_app("web", access_token_ttl=300)
    short, long = dev.login_as(ADA, "web"), dev.login_as(ADA, "native")  # 300 s and 3600 s
    dev.advance_clock(300 + RETAIN - 1)
    write(dev)
    assert jti(short.access_token) in store(dev).access  # dead, but kept for RETAIN
    dev.advance_clock(2)
    write(dev)
    assert jti(short.access_token) not in store(dev).access
    assert jti(long.access_token) in store(dev).access
    assert api(http, "whoami", long.access_token).status_code == 200
    gone = api(http, "whoami", short.access_token)
    assert gone.status_code == 401
    assert 'error_description="The access token has expired."' in gone.headers["www-authenticate"]
    assert introspect(http, dev, "web", short.access_token) == {"active": False}


def test_nothing_valid_at_the_server_clock_is_pruned(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    tokens = dev.login_as(ADA, "web")  # access 3600 s, refresh idle 7 days
    assert tokens.refresh_token is not None
    dev.advance_clock(3000)
    write(dev)
    assert api(http, "whoami", tokens.access_token).status_code == 200
    assert introspect(http, dev, "web", tokens.refresh_token)["active"] is True
    dev.advance_clock(6 * 24 * 3600)  # the access token is long gone; the refresh token lives
    write(dev)
    assert jti(tokens.access_token) not in store(dev).access
    assert tokens.refresh_token in store(dev).refresh
    assert refresh(http, dev, "web", tokens.refresh_token).status_code == 200


def test_idle_refresh_tokens_and_their_dead_family_go(
    fresh: tuple[DevServer, httpx.Client],
) -> None:
    dev, http = fresh
    dev.configure_app("web", rotation="ROTATE", refresh_token_idle=600, access_token_ttl=300)
    rt1 = dev.login_as(ADA, "web").refresh_token
    assert rt1 is not None
    rt2 = refresh(http, dev, "web", rt1).json()["refresh_token"]
    grant_id = store(dev).refresh[rt2].grant_id
    assert store(dev).families[grant_id].refresh == {rt1, rt2}
    dev.advance_clock(600 + RETAIN + 1)
    write(dev)
    for table in (store(dev).refresh, store(dev).grants, store(dev).families):
        assert not {rt1, rt2, grant_id} & set(table)
    for token in (rt1, rt2):
        assert_error(refresh(http, dev, "web", token), 400, "invalid_grant", RT_INVALID)
        assert introspect(http, dev, "web", token) == {"active": False}


def test_a_rotated_out_token_is_kept_for_reuse_detection(
    fresh: tuple[DevServer, httpx.Client],
) -> None:
    dev, http = fresh
    dev.configure_app("web", rotation="ROTATE", grace_period=30, refresh_token_idle=3600)
    rt1 = dev.login_as(ADA, "web").refresh_token
    assert rt1 is not None
    rt2 = refresh(http, dev, "web", rt1).json()["refresh_token"]
    dev.advance_clock(1800)  # rt1 rotated out long ago, but inside its idle window
    rt3 = refresh(http, dev, "web", rt2).json()["refresh_token"]
    write(dev)
    assert rt1 in store(dev).refresh
    assert_error(refresh(http, dev, "web", rt1), 400, "invalid_grant", RT_INVALID)
    assert dev.events[-1].detail == "reuse_detected_family_revoked"
    assert_error(refresh(http, dev, "web", rt3), 400, "invalid_grant", RT_INVALID)


def test_expired_codes_go(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    code, verifier, _ = login_code(dev, "native")
    assert code in store(dev).codes
    dev.advance_clock(300 + RETAIN + 1)
    write(dev)
    assert code not in store(dev).codes
    assert_error(exchange(http, dev, "native", code, verifier), 400, "invalid_grant", CODE_INVALID)


def test_expired_device_codes_go(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    start = device_start(http, dev)
    user_code = start["user_code"].replace("-", "")
    assert store(dev).user_codes[user_code] == start["device_code"]
    dev.advance_clock(start["expires_in"] + 1)
    assert device_poll(http, dev, start["device_code"]).json()["error"] == "expired_token"
    dev.advance_clock(RETAIN)
    write(dev)
    assert start["device_code"] not in store(dev).devices
    assert user_code not in store(dev).user_codes
    response = device_poll(http, dev, start["device_code"])
    assert_error(response, 400, "invalid_grant", DEVICE_INVALID)


def test_a_clock_jump_is_pruned_a_batch_per_write(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, _ = fresh
    dev.configure_app("web", refresh_token_idle=600)
    for _ in range(2 * SWEEP_BATCH):
        dev.login_as(ADA, "web")  # a family, a refresh token and an access token each
    before = len(store(dev).access) + len(store(dev).refresh) + len(store(dev).grants)
    dev.advance_clock(3600 + RETAIN + 1)
    write(dev)  # looks at no more than a batch of due records (each write adds its own)
    after = len(store(dev).access) + len(store(dev).refresh) + len(store(dev).grants)
    assert 0 < before - after <= SWEEP_BATCH + 3
    for _ in range(3 * before // SWEEP_BATCH):
        write(dev)
    grace = {g.id for g in store(dev).grants.values() if g.user == GRACE}
    assert {g.user for g in store(dev).grants.values()} == {GRACE}
    assert set(store(dev).families) == grace


class NoScan(Table[Any]):
    """A table that fails the test if anything iterates over all of it."""

    def _scan(self, *args: object) -> Any:
        raise AssertionError("a scan of every access token")

    values = items = keys = __iter__ = _scan


def test_revoking_a_family_revokes_exactly_its_tokens_through_the_index(
    fresh: tuple[DevServer, httpx.Client],
) -> None:
    dev, http = fresh
    mine, other, theirs = (dev.login_as(u, "web") for u in (ADA, ADA, GRACE))
    assert mine.refresh_token is not None
    newer = refresh(http, dev, "web", mine.refresh_token).json()["access_token"]
    grant_id = store(dev).refresh[mine.refresh_token].grant_id
    assert store(dev).families[grant_id].access == {jti(mine.access_token), jti(newer)}
    store(dev).access.__class__ = NoScan
    try:
        response = post(http, dev, "web", f"{DEFAULT}/revoke", {"token": mine.refresh_token})
    finally:
        store(dev).access.__class__ = Table
    assert response.status_code == 200
    for token in (mine.access_token, newer):
        assert api(http, "whoami", token).status_code == 401
        assert store(dev).access[jti(token)].revoked
    for token in (other.access_token, theirs.access_token):
        assert api(http, "whoami", token).status_code == 200
    revoked = {r.jti for r in store(dev).access.values() if r.revoked}
    assert revoked == {jti(mine.access_token), jti(newer)}


def test_a_revoked_family_is_pruned_after_retain(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    tokens = dev.login_as(ADA, "web")
    assert tokens.refresh_token is not None
    grant_id = store(dev).refresh[tokens.refresh_token].grant_id
    post(http, dev, "web", f"{DEFAULT}/revoke", {"token": tokens.refresh_token})
    dev.advance_clock(RETAIN + 1)  # the access token (3600 s) has not expired
    write(dev)
    assert grant_id not in store(dev).grants and grant_id not in store(dev).families
    assert jti(tokens.access_token) not in store(dev).access
    assert tokens.refresh_token not in store(dev).refresh
    gone = api(http, "whoami", tokens.access_token)
    assert 'error_description="The access token is invalid."' in gone.headers["www-authenticate"]
    assert introspect(http, dev, "web", tokens.access_token) == {"active": False}
    assert_error(refresh(http, dev, "web", tokens.refresh_token), 400, "invalid_grant", RT_INVALID)
