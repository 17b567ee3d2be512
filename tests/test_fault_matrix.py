"""The fault matrix: every failure the dev server can inject, met by a session whose access
token has expired (or is about to), under ROTATE with grace 0 and a file store.

Each row says what the user sees (a typed error, or a transparent recovery), and the test
checks that too, then that the tokens are still held (the live refresh token in the session
and in the store), how many token calls were made (bounded), how long the session asked to
wait (an injected sleep, so nothing waits for real), and that the next refresh works with no
``invalid_grant``. README.md shows this table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from okta_nb_auth import (
    AuthSession,
    FileStore,
    LoginRequired,
    OktaAuth,
    OktaAuthError,
    RateLimited,
    TransientError,
)
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.store import EntryKey

ADA = "ada@example.com"
TTL = 300


@dataclass(frozen=True)
class Row:
    """One fault: what is injected, what the user sees, and what it may cost."""

    fault: dict[str, Any]
    outcome: type[OktaAuthError] | None  # None: the request succeeds
    token_calls: int  # refresh calls the dev server sees for this one request
    slept: tuple[float, ...] = ()  # approximate waits asked for, in order
    options: dict[str, Any] = field(default_factory=dict)


MATRIX: dict[str, Row] = {
    "500-once": Row({"status": 500}, None, 2, (0.5,)),
    "502-html-once": Row({"status": 502, "html": True}, None, 2, (0.5,)),
    "503-twice": Row({"status": 503, "count": 2}, None, 3, (0.5, 1.0)),
    "504-html-once": Row({"status": 504, "html": True}, None, 2, (0.5,)),
    "dropped-connection": Row({"drop": True}, None, 2, (0.5,)),
    "500-past-the-retries": Row({"status": 500, "count": 4}, TransientError, 4, (0.5, 1.0, 2.0)),
    "429-reset-within-max_wait": Row({"status": 429}, None, 2, (60.0,), {"max_wait": 120}),
    "429-reset-past-max_wait": Row({"status": 429}, RateLimited, 1, ()),
    "slower-than-the-client-timeout": Row({"latency": 60.0}, None, 2, (0.5,), {"timeout": 0.5}),
}


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def refresh_calls(dev: DevServer) -> list[tuple[int, str | None]]:
    return [(e.status, e.error) for e in dev.events if e.grant_type == "refresh_token"]


def stored_refresh_token(dev: DevServer, store: FileStore) -> str | None:
    entry = store.load(EntryKey(dev.issuer, dev.app("native").client_id))
    return entry.tokens.refresh_token if entry is not None else None


@pytest.fixture
def strict(fresh_dev: DevServer) -> DevServer:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=TTL)
    return fresh_dev


def session_for(
    dev: DevServer, row: Row, store: FileStore, clock: Clock, slept: list[float]
) -> AuthSession:
    options = dict(row.options)
    timeout = options.pop("timeout", 5.0)
    auth = OktaAuth(
        dev.config("native"), dev.login_as(ADA), clock=clock, store=store,
        sleep=slept.append, **options,
    )  # fmt: skip
    return AuthSession(auth.config, okta_auth=auth, timeout=httpx.Timeout(timeout))


def expire(dev: DevServer, clock: Clock, seconds: float) -> None:
    dev.advance_clock(seconds)
    clock.offset += seconds


@pytest.mark.parametrize("row", MATRIX.values(), ids=MATRIX.keys())
def test_fault_with_an_expired_access_token(strict: DevServer, row: Row, tmp_path: Path) -> None:
    store, clock, slept = FileStore(tmp_path), Clock(), []
    with session_for(strict, row, store, clock, slept) as session:
        url = f"{strict.api_url}/whoami"
        before = session.tokens
        expire(strict, clock, TTL)
        strict.inject_fault(**row.fault)
        if row.outcome is None:
            assert session.get(url).status_code == 200
        else:
            with pytest.raises(row.outcome):
                session.get(url)
            assert session.tokens == before  # nothing lost, nothing half-replaced
            assert isinstance(session.okta_auth.last_error, row.outcome)
        assert len(refresh_calls(strict)) == row.token_calls
        assert slept == pytest.approx(list(row.slept), abs=2.0)
        held = session.tokens
        assert held is not None and stored_refresh_token(strict, store) == held.refresh_token

        strict.clear_faults()  # afterwards: the held refresh token is the live one
        assert session.get(url).status_code == 200
    errors = [error for _, error in refresh_calls(strict) if error]
    assert "invalid_grant" not in errors


@pytest.mark.parametrize(
    "row",
    [r for r in MATRIX.values() if r.outcome],
    ids=[k for k, r in MATRIX.items() if r.outcome],
)
def test_fault_while_the_access_token_lasts_is_invisible(
    strict: DevServer, row: Row, tmp_path: Path
) -> None:
    store, clock, slept = FileStore(tmp_path), Clock(), []
    with session_for(strict, row, store, clock, slept) as session:
        before = session.tokens
        expire(strict, clock, TTL - 30)  # inside the leeway: a refresh is due, not needed
        strict.inject_fault(**row.fault)
        response = session.get(f"{strict.api_url}/whoami")
        assert response.status_code == 200
        assert before is not None and session.tokens == before
        assert isinstance(session.okta_auth.last_error, row.outcome or OktaAuthError)
        assert len(refresh_calls(strict)) == row.token_calls


def test_a_dead_login_is_login_required_and_only_its_entry_goes(
    strict: DevServer, tmp_path: Path
) -> None:
    store, clock, slept = FileStore(tmp_path), Clock(), []
    row = Row({}, LoginRequired, 1)
    with session_for(strict, row, store, clock, slept) as session:
        expire(strict, clock, TTL)
        strict.revoke_user(ADA)  # an admin cleared the user's sessions
        with pytest.raises(LoginRequired, match="Log in again"):
            session.get(f"{strict.api_url}/whoami")
        with pytest.raises(LoginRequired):  # and the dead token is not sent again
            session.get(f"{strict.api_url}/whoami")
    assert refresh_calls(strict) == [(400, "invalid_grant")]
    assert stored_refresh_token(strict, store) is None and slept == []
