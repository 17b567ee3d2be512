"""Fault injection on the token endpoint, and real rate limiting (spec §5.3, §7)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import httpx
import pytest
from devserver_helpers import DEFAULT, RT_INVALID, assert_error, client, post, refresh

from okta_nb_auth.devserver import DevServer, SettingsError

SERVER_ERROR = (
    "The authorization server encountered an unexpected condition that prevented it from "
    "fulfilling the request."
)
RATE_LIMITED = {
    "errorCode": "E0000047",
    "errorSummary": "API call exceeded rate limit due to too many requests.",
    "errorLink": "E0000047",
    "errorCauses": [],
}


@pytest.fixture
def fresh(dev: DevServer) -> Iterator[tuple[DevServer, httpx.Client]]:
    """The module's server with no pending fault and an empty event log.

    Faults answer 500 on purpose, so this client does not fail on a 500.
    """
    dev.clear_faults()
    dev.clear_events()
    with client(dev, check=False) as c:
        yield dev, c
    dev.clear_faults()


def _call(http: httpx.Client, dev: DevServer) -> httpx.Response:
    return refresh(http, dev, "web", "not-a-real-token")


def _assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429
    body = response.json()
    assert body.pop("errorId").startswith("oae")
    assert body == RATE_LIMITED


def test_injected_429(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(429)
    response = _call(http, dev)
    _assert_rate_limited(response)
    assert response.headers["x-rate-limit-limit"] == "0"
    assert response.headers["x-rate-limit-remaining"] == "0"
    reset = int(response.headers["x-rate-limit-reset"])
    assert 55 <= reset - dev.now() <= 61
    assert_error(_call(http, dev), 400, "invalid_grant", RT_INVALID)  # count=1: once only


def test_injected_500_is_server_error_json(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(500)
    assert_error(_call(http, dev), 500, "server_error", SERVER_ERROR)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_injected_gateway_errors_are_html(
    fresh: tuple[DevServer, httpx.Client], status: int
) -> None:
    dev, http = fresh
    dev.inject_fault(status)
    response = _call(http, dev)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert f"<h1>{status} " in response.text
    with pytest.raises(ValueError):
        response.json()


def test_503_html_body_text(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(503)
    assert "503 Service Unavailable" in _call(http, dev).text


def test_503_as_json_when_asked(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(503, html=False)
    assert_error(_call(http, dev), 503, "server_error", SERVER_ERROR)


def test_count_is_honoured(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(500, count=3)
    statuses = [_call(http, dev).status_code for _ in range(4)]
    assert statuses == [500, 500, 500, 400]


def test_faults_queue_in_order(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(429)
    dev.inject_fault(503, count=2)
    statuses = [_call(http, dev).status_code for _ in range(4)]
    assert statuses == [429, 503, 503, 400]


def test_latency(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(latency=0.4)
    started = time.monotonic()
    response = _call(http, dev)
    assert time.monotonic() - started >= 0.4
    assert_error(response, 400, "invalid_grant", RT_INVALID)  # slow, then the normal answer
    assert dev.controls.store.faults == []  # used up: the next call is not slowed


def test_latency_then_status(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(500, latency=0.3)
    started = time.monotonic()
    assert _call(http, dev).status_code == 500
    assert time.monotonic() - started >= 0.3


def test_latency_trips_a_client_timeout_and_ends_when_the_client_leaves(
    fresh_dev: DevServer,
) -> None:
    fresh_dev.inject_fault(latency=110.0)  # far longer than this test may take
    with client(fresh_dev, timeout=0.2) as impatient, pytest.raises(httpx.ReadTimeout):
        _call(impatient, fresh_dev)
    # The client hung up, so the held call ends now and issues nothing (a killed process's
    # refresh never rotates a token), rather than holding the server for 110 s.
    deadline = time.monotonic() + 30
    while not fresh_dev.events and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the event log, with a deadline far below the 110 s
    [event] = fresh_dev.events
    assert (event.status, event.error) == (0, "fault_client_gone")


def test_dropped_connection(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(drop=True)
    with pytest.raises(httpx.RemoteProtocolError):
        _call(http, dev)
    assert_error(_call(http, dev), 400, "invalid_grant", RT_INVALID)  # the server lives on


def test_dropped_connection_count(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(drop=True, count=2)
    for _ in range(2):
        with pytest.raises(httpx.RemoteProtocolError):
            _call(http, dev)
    assert _call(http, dev).status_code == 400


def test_only_the_token_endpoint_is_faulted(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(500)
    assert post(http, dev, "web", f"{DEFAULT}/introspect", {"token": "x"}).status_code == 200
    assert http.get(f"{DEFAULT}/keys").status_code == 200
    assert _call(http, dev).status_code == 500  # still pending for the token endpoint


def test_a_fault_hits_a_successful_call_too(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    rt = dev.login_as("ada@example.com", "web").refresh_token
    assert rt is not None
    dev.inject_fault(429)
    assert refresh(http, dev, "web", rt).status_code == 429
    assert refresh(http, dev, "web", rt).status_code == 200


def test_clear_faults(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(500, count=5)
    dev.clear_faults()
    assert _call(http, dev).status_code == 400


def test_events_record_faults(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.inject_fault(429)
    dev.inject_fault(500)
    dev.inject_fault(503)
    dev.inject_fault(drop=True)
    for _ in range(3):
        _call(http, dev)
    with pytest.raises(httpx.RemoteProtocolError):
        _call(http, dev)
    _call(http, dev)
    seen = [(e.endpoint, e.grant_type, e.status, e.error) for e in dev.events]
    assert seen == [
        ("token", "refresh_token", 429, "fault_429"),
        ("token", "refresh_token", 500, "fault_500"),
        ("token", "refresh_token", 503, "fault_503"),
        ("token", "refresh_token", 0, "fault_drop"),
        ("token", "refresh_token", 400, "invalid_grant"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 404}, "status must be one of"),
        ({"status": 500, "count": 0}, "a fault needs count >= 1"),
        ({}, "a fault needs"),
        ({"latency": -1.0}, "a fault needs"),
    ],
)
def test_bad_fault_requests(dev: DevServer, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        dev.inject_fault(**kwargs)  # type: ignore[arg-type]


# -- real rate limiting ---------------------------------------------------------------------


def _at_minute_start(dev: DevServer) -> None:
    """Shift the server's clock to 1 s past a minute boundary: a fresh window of 59 s."""
    now = time.time()
    dev.clock_offset = (math.ceil(now / 60) + 1) * 60 + 1 - now


def test_rate_limit_from_config() -> None:
    config = {"server": {"rate_limit_per_minute": 3}}
    with DevServer(port=0, config=config) as dev, client(dev) as http:
        _at_minute_start(dev)
        remaining = []
        for _ in range(3):
            response = _call(http, dev)
            assert response.status_code == 400
            assert response.headers["x-rate-limit-limit"] == "3"
            remaining.append(int(response.headers["x-rate-limit-remaining"]))
        assert remaining == [2, 1, 0]
        limited = post(http, dev, "web", f"{DEFAULT}/introspect", {"token": "x"})
        _assert_rate_limited(limited)
        assert limited.headers["x-rate-limit-limit"] == "3"
        assert limited.headers["x-rate-limit-remaining"] == "0"
        reset = int(limited.headers["x-rate-limit-reset"])
        assert reset % 60 == 0 and 0 < reset - dev.now() <= 60
        assert dev.events[-1].status == 429 and dev.events[-1].error == "rate_limited"
        assert http.get(f"{DEFAULT}/keys").status_code == 200  # keys are not limited
        assert http.get("/.well-known/openid-configuration").status_code == 200
        dev.advance_clock(60)  # the next window
        assert _call(http, dev).status_code == 400
