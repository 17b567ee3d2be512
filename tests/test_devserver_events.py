"""The event log of OAuth-endpoint calls: enough for a plot or a test to count refreshes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict

import httpx
import pytest
from devserver_helpers import (
    ADA,
    DEFAULT,
    client,
    code_flow,
    device_poll,
    device_start,
    post,
    refresh,
)

from okta_nb_auth import AuthSession
from okta_nb_auth.devserver import DevServer, Event


@pytest.fixture
def fresh(dev: DevServer) -> Iterator[tuple[DevServer, httpx.Client]]:
    """The module's server with an empty event log."""
    dev.clear_events()
    with client(dev) as c:
        yield dev, c


def test_every_event_has_the_required_fields(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    code_flow(http, dev, "native")
    refresh(http, dev, "web", "bogus")
    post(http, dev, "web", f"{DEFAULT}/introspect", {"token": "x"})
    post(http, dev, "web", f"{DEFAULT}/revoke", {"token": "x"})
    device_start(http, dev)
    events = dev.events
    assert [e.endpoint for e in events] == [
        "token",
        "token",
        "introspect",
        "revoke",
        "device_authorize",
    ]
    for event in events:
        assert isinstance(event, Event)
        for name in ("at", "endpoint", "grant_type", "client_id", "status", "error"):
            assert name in asdict(event)
        assert abs(event.at - dev.now()) < 10
    login, failed = events[0], events[1]
    assert (login.grant_type, login.client_id, login.app) == (
        "authorization_code",
        dev.app("native").client_id,
        "native",
    )
    assert (login.status, login.error, login.user) == (200, None, ADA)
    assert login.expires_at is not None and login.expires_at - login.at == pytest.approx(
        3600, abs=2
    )
    assert (failed.grant_type, failed.client_id, failed.status, failed.error) == (
        "refresh_token",
        dev.app("web").client_id,  # from the Basic header
        400,
        "invalid_grant",
    )
    assert events[2].status == 200 and events[2].grant_type is None


def test_counting_refreshes(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    rt = dev.login_as(ADA, "web").refresh_token
    assert rt is not None
    for _ in range(5):
        assert refresh(http, dev, "web", rt).status_code == 200
    refresh(http, dev, "web", "bogus")
    refreshes = [e for e in dev.events if e.grant_type == "refresh_token"]
    assert len(refreshes) == 6
    assert sum(1 for e in refreshes if e.status == 200) == 5
    assert all(e.user == ADA for e in refreshes[:5])
    assert [e.at for e in refreshes] == sorted(e.at for e in refreshes)


def test_login_as_is_not_an_event(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, _ = fresh
    dev.login_as(ADA, "native")
    assert dev.events == []


def test_failed_client_authentication_is_recorded(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    http.post(f"{DEFAULT}/token", data={"grant_type": "client_credentials", "client_id": "0oaX"})
    http.post(f"{DEFAULT}/token", content=b"\xff", headers={"Content-Type": "text/plain"})
    unknown, garbled = dev.events
    assert (unknown.client_id, unknown.app, unknown.status, unknown.error) == (
        "0oaX",
        None,
        401,
        "invalid_client",
    )
    assert unknown.grant_type == "client_credentials"
    assert (garbled.status, garbled.error, garbled.grant_type) == (400, "invalid_request", None)


def test_event_details_for_device_polling(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    start = device_start(http, dev)
    device_poll(http, dev, start["device_code"])
    device_poll(http, dev, start["device_code"])
    errors = [e.error for e in dev.events if e.endpoint == "token"]
    assert errors == ["authorization_pending", "slow_down"]


def test_events_use_the_shifted_clock(fresh_dev: DevServer) -> None:
    fresh_dev.advance_clock(10_000)
    with client(fresh_dev) as http:
        refresh(http, fresh_dev, "web", "bogus")
    assert fresh_dev.events[-1].at == pytest.approx(fresh_dev.now(), abs=5)


def test_events_are_a_copy_and_can_be_cleared(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    refresh(http, dev, "web", "bogus")
    snapshot = dev.events
    snapshot.clear()
    assert len(dev.events) == 1
    dev.clear_events()
    assert dev.events == []


def test_discovery_and_key_fetches_are_events(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    paths = [
        "/oauth2/default/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/oauth2/default",
        "/.well-known/openid-configuration",
        f"{DEFAULT}/keys",
        "/oauth2/v1/keys",
        "/oauth2/aus0nope/.well-known/openid-configuration",
        "/oauth2/aus0nope/v1/keys",
    ]
    for path in paths:
        http.get(path)
    seen = [(e.endpoint, e.status, e.error, e.grant_type, e.client_id) for e in dev.events]
    assert seen == [
        *[("discovery", 200, None, None, None)] * 3,
        *[("keys", 200, None, None, None)] * 2,
        ("discovery", 404, "not_found", None, None),
        ("keys", 404, "not_found", None, None),
    ]
    assert all(abs(e.at - dev.now()) < 10 for e in dev.events)


def test_a_test_can_count_a_clients_discovery_and_key_fetches(fresh_dev: DevServer) -> None:
    tokens = fresh_dev.login_as(ADA, "native")
    with AuthSession(fresh_dev.config("native"), tokens) as session:
        for _ in range(3):
            session.refresh()  # each refreshed ID token is verified against the key set
    counts = Counter(e.endpoint for e in fresh_dev.events)
    assert counts == {"token": 3, "discovery": 1, "keys": 1}  # both fetched once, then cached
