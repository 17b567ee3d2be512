"""The dev server's token endpoint called directly (no HTTP, a clock that stands still), pinned
down to what a mutation run changes: every time limit at its exact second, what the event log
is told (grant type, user, expiry, detail), a replayed code revoking its family, and the
device-flow polling rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from okta_nb_auth.devserver._authority import Authority
from okta_nb_auth.devserver._grants import CODE_INVALID, RT_INVALID, TokenEndpoint
from okta_nb_auth.devserver._settings import AppSettings, default_settings
from okta_nb_auth.devserver._state import Clock, CodeRecord, OAuthFailure, RefreshRecord

T = 1_800_000_000.0
ADA = "ada@example.com"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
OFFLINE = ("openid", "offline_access")


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority(default_settings(), "http://127.0.0.1:9", Clock(source=lambda: T))


@pytest.fixture
def endpoint(authority: Authority) -> Iterator[TokenEndpoint]:
    authority.store.clock.offset = 0.0
    authority.store.auto_approve = None
    yield TokenEndpoint(authority)
    authority.store.clock.offset = 0.0
    authority.store.auto_approve = None


def later(endpoint: TokenEndpoint, seconds: float) -> None:
    endpoint.store.clock.offset += seconds


def app(endpoint: TokenEndpoint, name: str = "native", **changes: Any) -> AppSettings:
    return endpoint.authority.app(name).with_changes(**changes)


def call(endpoint: TokenEndpoint, application: AppSettings, **form: str) -> tuple[Any, dict]:
    """(the body, or the OAuthFailure) and the event-log context of one token call."""
    ctx: dict[str, Any] = {}
    server = endpoint.authority.servers["default"]
    try:
        return endpoint.token(server, application, form, ctx), ctx
    except OAuthFailure as failure:
        return failure, ctx


def refused(outcome: Any) -> tuple[int, str, str]:
    assert isinstance(outcome, OAuthFailure), outcome
    return outcome.status, outcome.error, outcome.description


def refresh(endpoint: TokenEndpoint, native: AppSettings, token: str) -> tuple[Any, dict]:
    return call(endpoint, native, grant_type="refresh_token", refresh_token=token)


def login(endpoint: TokenEndpoint, application: AppSettings) -> str:
    server = endpoint.authority.servers["default"]
    body, _ = endpoint.authority.issue_login(server, application, ADA, OFFLINE, int(T), None)
    return str(body["refresh_token"])


# ------------------------------------------------------------------ the event log's context


def test_a_refresh_tells_the_event_log_its_grant_user_and_expiry(endpoint: TokenEndpoint) -> None:
    native = app(endpoint, access_token_ttl=300)
    body, ctx = refresh(endpoint, native, login(endpoint, native))
    assert body["expires_in"] == 300
    assert ctx == {"grant_type": "refresh_token", "user": ADA, "expires_at": T + 300}


def test_a_rotation_is_noted_and_its_successor_works(endpoint: TokenEndpoint) -> None:
    native = app(endpoint, rotation="ROTATE")
    body, ctx = refresh(endpoint, native, login(endpoint, native))
    assert ctx["detail"] == "rotated"
    again, _ = refresh(endpoint, native, body["refresh_token"])
    assert isinstance(again, dict)


def test_client_credentials_tell_the_event_log_the_expiry(endpoint: TokenEndpoint) -> None:
    service = app(endpoint, "service", access_token_ttl=120)
    body, ctx = call(endpoint, service, grant_type="client_credentials", scope="demo.read")
    assert isinstance(body, dict)
    assert ctx == {"grant_type": "client_credentials", "expires_at": T + 120}


# ------------------------------------------------------------------ refresh-token limits


def test_a_refresh_token_whose_grant_is_gone_is_invalid(endpoint: TokenEndpoint) -> None:
    endpoint.store.refresh["orphan"] = RefreshRecord("orphan", "no-such-grant", T)
    outcome, _ = refresh(endpoint, app(endpoint), "orphan")
    assert refused(outcome) == (400, "invalid_grant", RT_INVALID)


@pytest.mark.parametrize(
    ("changes", "seconds"),
    [({"refresh_token_ttl": 600}, 600), ({"refresh_token_idle": 600}, 600)],
    ids=["lifetime", "idle"],
)
def test_a_refresh_token_dies_at_its_limit_to_the_second(
    endpoint: TokenEndpoint, changes: dict[str, int], seconds: int
) -> None:
    native = app(endpoint, **changes)
    alive, dead = login(endpoint, native), login(endpoint, native)
    later(endpoint, seconds - 1)
    outcome, _ = refresh(endpoint, native, alive)
    assert isinstance(outcome, dict)
    later(endpoint, 1)
    outcome, ctx = refresh(endpoint, native, dead)
    assert refused(outcome) == (400, "invalid_grant", RT_INVALID)
    assert ctx["user"] == ADA


def test_a_rotated_out_token_works_until_the_grace_period_ends(endpoint: TokenEndpoint) -> None:
    native = app(endpoint, rotation="ROTATE", grace_period=30)
    first = login(endpoint, native)
    refresh(endpoint, native, first)
    later(endpoint, 30)  # exactly the grace period: still accepted
    outcome, _ = refresh(endpoint, native, first)
    assert isinstance(outcome, dict)
    later(endpoint, 1)
    outcome, ctx = refresh(endpoint, native, first)
    assert refused(outcome) == (400, "invalid_grant", RT_INVALID)
    assert ctx["detail"] == "reuse_detected_family_revoked"


# ------------------------------------------------------------------ authorization codes


def put_code(endpoint: TokenEndpoint, code: str, *, challenge: str | None = None) -> CodeRecord:
    record = CodeRecord(
        code=code, server_id="default", app="native", redirect_uri="http://127.0.0.1:8765/callback",
        scopes=OFFLINE, user=ADA, auth_time=int(T), expires_at=T + 300, nonce=None,
        challenge=challenge,
    )  # fmt: skip
    endpoint.store.codes[code] = record
    return record


def exchange(endpoint: TokenEndpoint, code: str, **extra: str) -> tuple[Any, dict]:
    native = app(endpoint, pkce_required=False)
    redirect = "http://127.0.0.1:8765/callback"
    return call(endpoint, native, grant_type="authorization_code", code=code, redirect_uri=redirect,
                **extra)  # fmt: skip


def test_a_code_is_good_until_its_last_second(endpoint: TokenEndpoint) -> None:
    put_code(endpoint, "c-edge")
    later(endpoint, 300)
    body, ctx = exchange(endpoint, "c-edge")
    assert isinstance(body, dict)
    assert ctx == {"grant_type": "authorization_code", "user": ADA, "expires_at": T + 300 + 3600}


def test_a_replayed_code_revokes_what_it_issued(endpoint: TokenEndpoint) -> None:
    put_code(endpoint, "c-replay")
    body, _ = exchange(endpoint, "c-replay")
    outcome, ctx = exchange(endpoint, "c-replay")
    assert refused(outcome) == (400, "invalid_grant", CODE_INVALID)
    assert ctx["user"] == ADA and ctx["detail"] == "code_replay_revoked"
    native = app(endpoint)
    outcome, _ = refresh(endpoint, native, body["refresh_token"])
    assert refused(outcome) == (400, "invalid_grant", RT_INVALID)


def test_a_verifier_that_is_not_ascii_fails_pkce_cleanly(endpoint: TokenEndpoint) -> None:
    put_code(endpoint, "c-pkce", challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    outcome, _ = exchange(endpoint, "c-pkce", code_verifier="v\u00e9rifier-" + "x" * 40)
    assert refused(outcome) == (400, "invalid_grant", "PKCE verification failed.")


# ------------------------------------------------------------------ the device flow


def start_device(endpoint: TokenEndpoint, **changes: Any) -> tuple[AppSettings, str]:
    native = app(endpoint, **changes)
    server = endpoint.authority.servers["default"]
    started = endpoint.device_authorize(server, native, {"scope": "openid offline_access"})
    return native, str(started["device_code"])


def poll(endpoint: TokenEndpoint, native: AppSettings, code: str) -> tuple[Any, dict]:
    return call(endpoint, native, grant_type=DEVICE_GRANT, device_code=code)


def error(outcome: Any) -> str:
    return refused(outcome)[1]


def test_polling_at_exactly_the_interval_is_not_slowed(endpoint: TokenEndpoint) -> None:
    native, code = start_device(endpoint, device_interval=5)
    for _ in range(3):
        assert error(poll(endpoint, native, code)[0]) == "authorization_pending"
        later(endpoint, 5)


def test_slow_down_adds_five_seconds_to_the_interval(endpoint: TokenEndpoint) -> None:
    native, code = start_device(endpoint, device_interval=3)
    assert error(poll(endpoint, native, code)[0]) == "authorization_pending"
    assert error(poll(endpoint, native, code)[0]) == "slow_down"  # interval now 8 s
    later(endpoint, 7)
    assert error(poll(endpoint, native, code)[0]) == "slow_down"  # interval now 13 s
    later(endpoint, 13)
    assert error(poll(endpoint, native, code)[0]) == "authorization_pending"


def test_a_device_code_is_good_until_its_last_second(endpoint: TokenEndpoint) -> None:
    native, code = start_device(endpoint, device_code_ttl=600)
    later(endpoint, 600)
    assert error(poll(endpoint, native, code)[0]) == "authorization_pending"
    later(endpoint, 1)
    assert error(poll(endpoint, native, code)[0]) == "expired_token"


def test_an_approved_device_login_is_stamped_with_when_it_was_collected(
    endpoint: TokenEndpoint,
) -> None:
    native, code = start_device(endpoint)
    endpoint.store.auto_approve = ADA
    later(endpoint, 42.7)
    body, ctx = poll(endpoint, native, code)
    assert ctx == {"grant_type": DEVICE_GRANT, "user": ADA, "expires_at": T + 42.7 + 3600}
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["auth_time"] == int(T + 42.7)
