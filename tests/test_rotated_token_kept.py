"""No rotated refresh token is ever lost, against the running dev server under ROTATE, grace 0.

The dev server issues and rotates real tokens; a transport between the client and it spoils
one token answer at a time (fault injection on top of real HTTP): a missing or malformed
``expires_in``, an access token no header can carry, an ID token that fails verification,
signing keys that cannot be fetched. Whatever goes wrong, the new refresh token reaches the
session, ``on_tokens`` and the store before the error, so the next refresh works: the dev
server's event log shows no ``invalid_grant`` (with grace 0, reusing the old refresh token
would revoke the whole family).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from okta_nb_auth import (
    AuthSession,
    FileStore,
    OktaAuth,
    ProtocolError,
    TokenSet,
)
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.store import EntryKey

ADA = "ada@example.com"
TTL = 300
Edit = Callable[[dict[str, Any]], None]


class Spoiler(httpx.BaseTransport):
    """Real HTTP to the dev server; the next token answer (or key fetch) is spoiled once."""

    def __init__(self) -> None:
        self.real = httpx.HTTPTransport()
        self.edit: Edit | None = None
        self.keys_down = False
        self.rotated: list[str] = []  # refresh tokens the server issued (for the asserts)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.keys_down and request.url.path.endswith("/v1/keys"):
            return httpx.Response(503, request=request)
        response = self.real.handle_request(request)
        if not request.url.path.endswith("/v1/token"):
            return response
        body = json.loads(response.read())
        if "refresh_token" in body:
            self.rotated.append(body["refresh_token"])
        if self.edit is not None and response.status_code == 200:
            self.edit(body)
            self.edit = None
        return httpx.Response(response.status_code, json=body, request=request)

    def close(self) -> None:
        self.real.close()


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def drop(name: str) -> Edit:
    return lambda body: body.pop(name)


def put(name: str, value: object) -> Edit:
    return lambda body: body.__setitem__(name, value)


BAD_ANSWERS: dict[str, Edit] = {
    "no-expires_in": drop("expires_in"),
    "expires_in-text": put("expires_in", "an hour"),
    "expires_in-huge": put("expires_in", 10**400),
    "expires_in-negative": put("expires_in", -5),
    "no-access_token": drop("access_token"),
    "access_token-with-newline": put("access_token", "abc\r\nX-Evil: 1"),
    "id_token-not-a-string": put("id_token", 42),
}
BAD_ID_TOKENS: dict[str, Edit] = {
    "id_token-garbage": put("id_token", "not.a.jwt"),
    "id_token-unsigned": put("id_token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
}


def refreshes(dev: DevServer) -> list[tuple[int, str | None]]:
    return [(e.status, e.error) for e in dev.events if e.grant_type == "refresh_token"]


@pytest.fixture
def strict(fresh_dev: DevServer) -> DevServer:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=TTL)
    return fresh_dev


def open_session(
    dev: DevServer, spoiler: Spoiler, clock: Clock, seen: list[TokenSet], **options: Any
) -> AuthSession:
    auth = OktaAuth(
        dev.config("native"), dev.login_as(ADA), clock=clock, on_tokens=seen.append, **options
    )
    return AuthSession(auth.config, okta_auth=auth, transport=spoiler)


def expire(dev: DevServer, clock: Clock, seconds: float = TTL) -> None:
    dev.advance_clock(seconds)
    clock.offset += seconds


def stored_refresh_token(dev: DevServer, store: FileStore) -> str | None:
    entry = store.load(EntryKey(dev.issuer, dev.app("native").client_id))
    return entry.tokens.refresh_token if entry is not None else None


@pytest.mark.parametrize("edit", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_an_unusable_answer_keeps_its_rotated_refresh_token(
    strict: DevServer, edit: Edit, tmp_path: Path
) -> None:
    spoiler, clock, seen = Spoiler(), Clock(), []
    store = FileStore(tmp_path)
    with open_session(strict, spoiler, clock, seen, store=store) as session:
        url = f"{strict.api_url}/whoami"
        expire(strict, clock)
        spoiler.edit = edit
        with pytest.raises(ProtocolError):  # expired: nothing usable to fall back on
            session.get(url)
        [rotated] = spoiler.rotated
        assert session.tokens is not None and session.tokens.refresh_token == rotated
        assert [t.refresh_token for t in seen] == [rotated]  # on_tokens has it
        assert stored_refresh_token(strict, store) == rotated  # and the store
        assert isinstance(session.okta_auth.last_error, ProtocolError)

        assert session.get(url).status_code == 200  # refreshes with the rotated token
        expire(strict, clock)
        assert session.get(url).status_code == 200
    assert refreshes(strict) == [(200, None)] * 3  # no invalid_grant: the family lives


@pytest.mark.parametrize("edit", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_while_the_access_token_lasts_a_failed_refresh_does_not_fail_the_request(
    strict: DevServer, edit: Edit
) -> None:
    spoiler, clock, seen = Spoiler(), Clock(), []
    with open_session(strict, spoiler, clock, seen) as session:
        before = session.tokens
        expire(strict, clock, TTL - 30)  # inside the 60 s leeway: a refresh is due
        spoiler.edit = edit
        response = session.get(f"{strict.api_url}/whoami")
        assert response.status_code == 200  # with the current access token
        assert before is not None and session.tokens is not None
        assert response.request.headers["Authorization"] == f"Bearer {before.access_token}"
        assert session.tokens.refresh_token == spoiler.rotated[-1]
        assert isinstance(session.okta_auth.last_error, ProtocolError)
        expire(strict, clock, 60)
        assert session.get(f"{strict.api_url}/whoami").status_code == 200
        assert session.okta_auth.last_error is None
    assert refreshes(strict) == [(200, None)] * 2


@pytest.mark.parametrize("edit", BAD_ID_TOKENS.values(), ids=BAD_ID_TOKENS.keys())
def test_an_id_token_that_fails_verification_is_dropped_and_the_rest_kept(
    strict: DevServer, edit: Edit
) -> None:
    spoiler, clock, seen = Spoiler(), Clock(), []
    with open_session(strict, spoiler, clock, seen) as session:
        old_id_token = session.tokens.id_token if session.tokens else None
        expire(strict, clock)
        spoiler.edit = edit
        assert session.get(f"{strict.api_url}/whoami").status_code == 200
        assert session.tokens is not None
        assert session.tokens.refresh_token == spoiler.rotated[-1]
        assert session.tokens.id_token == old_id_token  # the verified old one stays
        expire(strict, clock)
        assert session.get(f"{strict.api_url}/whoami").status_code == 200
    assert refreshes(strict) == [(200, None)] * 2


def test_signing_keys_out_of_reach_keep_the_new_tokens(strict: DevServer) -> None:
    spoiler, clock, seen = Spoiler(), Clock(), []
    with open_session(strict, spoiler, clock, seen) as session:
        expire(strict, clock)
        spoiler.keys_down = True  # the first refresh needs the keys: none come
        assert session.get(f"{strict.api_url}/whoami").status_code == 200
        assert session.tokens is not None
        assert session.tokens.refresh_token == spoiler.rotated[-1]
        assert [t.refresh_token for t in seen] == spoiler.rotated
        spoiler.keys_down = False
        expire(strict, clock)
        assert session.get(f"{strict.api_url}/whoami").status_code == 200
        assert session.okta_auth.id_claims is not None  # verified again once keys came back
    assert refreshes(strict) == [(200, None)] * 2
