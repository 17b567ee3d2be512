"""The Hub source's parts alone: the token service's answers, the kernel's reading of them.

The Hub's REST API and the token service are played by ``httpx.MockTransport`` here (fault
injection: answers a real Hub gives only when misconfigured); tests/test_hub_e2e.py runs the
real thing.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from okta_nb_auth import AuthSession, ConfigError, LoginRequired, PicklingRefused
from okta_nb_auth.hub import HubAccess, HubSession
from okta_nb_auth.hub._answer import NO_REFRESH, NO_STATE, NOT_OAUTH, token_answer

ENV = {
    "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
    "JUPYTERHUB_API_TOKEN": "server-token-0123456789",
    "JUPYTERHUB_USER": "ada",
}
SERVICE = {
    "name": "okta-tokens",
    "url": "http://127.0.0.1:9999",
    "prefix": "/services/okta-tokens/",
}


def _jwt(exp: float) -> str:
    return jwt.encode({"sub": "ada@example.com", "exp": int(exp)}, "k" * 32, algorithm="HS256")


def _hub(
    answers: list[tuple[int, dict[str, Any]]], seen: list[httpx.Request]
) -> httpx.MockTransport:
    """A Hub API that knows the service, and a token service answering ``answers`` in turn."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/hub/api/services/okta-tokens":
            return httpx.Response(200, json=SERVICE)
        if request.url.path == "/services/okta-tokens/token":
            status, body = answers.pop(0) if len(answers) > 1 else answers[0]
            return httpx.Response(status, json=body)
        return httpx.Response(200, json={"sub": "ada"})  # the API

    return httpx.MockTransport(handle)


def test_the_service_lends_the_access_token_only() -> None:
    token = _jwt(time.time() + 300)
    state = {"access_token": token, "refresh_token": "r" * 40, "id_token": "i" * 40}
    status, body = token_answer(state, time.time())
    assert status == 200 and body["access_token"] == token and 290 < body["expires_in"] <= 300
    assert set(body) == {"access_token", "expires_in", "token_type"}


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (None, NO_STATE),
        ({"name": "ada"}, NOT_OAUTH),  # another authenticator's auth_state
        ({"access_token": "a" * 40}, NO_REFRESH),  # a login without offline_access
    ],
)
def test_a_hub_not_set_up_for_it_gets_the_setting_to_change(state: object, message: str) -> None:
    status, body = token_answer(state, time.time())
    assert status == 409 and body["message"] == message


def test_a_kernel_borrows_from_the_hub_and_asks_again_after_a_401() -> None:
    first, second = _jwt(time.time() + 300), _jwt(time.time() + 301)
    seen: list[str] = []  # the Authorization header of each API request as it was sent
    answers = [(200, {"access_token": t, "expires_in": 300.0}) for t in (first, second)]
    api_answers = iter([401, 200, 200])

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.example":
            seen.append(request.headers["Authorization"])
            return httpx.Response(next(api_answers))
        return hub.handle_request(request)

    hub = _hub(answers, [])
    with HubSession(environ=ENV, transport=httpx.MockTransport(handle)) as session:
        assert session.get("https://api.example/items").status_code == 200  # 401, then 200
        assert session.get("https://api.example/items").status_code == 200
    assert seen == [f"Bearer {t}" for t in (first, second, second)]
    assert "server-token" not in repr(session) and first[:12] not in repr(session)


def test_a_token_the_hub_does_not_renew_ends_in_login_required() -> None:
    dead = _jwt(time.time() + 300)
    seen: list[httpx.Request] = []
    pauses: list[float] = []
    hub = _hub([(200, {"access_token": dead, "expires_in": 300.0})], seen)

    def handle(request: httpx.Request) -> httpx.Response:
        return (
            httpx.Response(401)
            if request.url.host == "api.example"
            else hub.handle_request(request)
        )

    with HubSession(environ=ENV, transport=httpx.MockTransport(handle)) as session:
        session.borrowed._sleep = pauses.append
        with pytest.raises(LoginRequired, match="Sign in to the Hub again"):
            session.get("https://api.example/items")
    assert pauses == [1.0, 2.0, 3.0]  # bounded: four asks


@pytest.mark.parametrize(
    ("status", "match"),
    [(404, "no service named 'okta-tokens'"), (403, "read:services!service=okta-tokens")],
)
def test_a_missing_service_or_scope_is_named(status: int, match: str) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(status, json={"message": "no"}))
    with (
        HubSession(environ=ENV, transport=transport) as session,
        pytest.raises(ConfigError, match=match),
    ):
        session.get("https://api.example/items")


def test_off_a_hub_from_hub_says_to_log_in() -> None:
    with pytest.raises(ConfigError, match="does not run on a JupyterHub"):
        AuthSession.from_hub(environ={})
    access = HubAccess.from_env(ENV)
    assert access is not None and "server-token" not in repr(access)
    with HubSession(environ=ENV) as session, pytest.raises(PicklingRefused):
        import pickle

        pickle.dumps(session)
