"""The sans-I/O protocol, pinned down to what a mutation run changes: the exact form and
headers of every request, the rate-limit reset without a Date header, every status boundary,
and the messages a user reads for each kind of failed answer."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt
import pytest
from fake_okta import rsa_key

from okta_nb_auth import (
    ConfigError,
    LoginRequired,
    OktaAuthError,
    OktaConfig,
    ProtocolError,
    RateLimited,
    TransientError,
)
from okta_nb_auth._protocol import (
    DEVICE_CODE_GRANT,
    authorization_code_request,
    client_credentials_request,
    device_authorize_request,
    device_code_request,
    error_from_response,
    make_pkce,
    parse_token_response,
    refresh_request,
    revoke_request,
)

ISSUER = "https://dev-1.okta.com/oauth2/default"
TOKEN = f"{ISSUER}/v1/token"
PATH = "/oauth2/default/v1/token"
NOW = 1_800_000_000.0
CONFIG = OktaConfig(ISSUER, "cid")


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def answer(status: int, body: Any = None, content: bytes = b"", **headers: str) -> httpx.Response:
    request = httpx.Request("POST", TOKEN)
    if body is not None:
        return httpx.Response(status, json=body, headers=headers, request=request)
    return httpx.Response(status, content=content, headers=headers, request=request)


# ------------------------------------------------------------------ requests


Build = Callable[[], httpx.Request]
REQUESTS: dict[str, tuple[Build, str, dict[str, str]]] = {
    "refresh": (
        lambda: refresh_request(CONFIG, TOKEN, "rt"),
        "token",
        {"grant_type": "refresh_token", "refresh_token": "rt", "client_id": "cid"},
    ),
    "code": (
        lambda: authorization_code_request(CONFIG, TOKEN, "c0de", "http://127.0.0.1/cb"),
        "token",
        {"grant_type": "authorization_code", "code": "c0de", "client_id": "cid",
         "redirect_uri": "http://127.0.0.1/cb"},
    ),
    "client-credentials": (
        lambda: client_credentials_request(CONFIG, TOKEN),
        "token",
        {"grant_type": "client_credentials", "client_id": "cid"},
    ),
    "device-code": (
        lambda: device_code_request(CONFIG, TOKEN, "dc"),
        "token",
        {"grant_type": DEVICE_CODE_GRANT, "device_code": "dc", "client_id": "cid"},
    ),
    "device-authorize": (
        lambda: device_authorize_request(CONFIG, f"{ISSUER}/v1/device/authorize", ["openid"]),
        "device",
        {"scope": "openid", "client_id": "cid"},
    ),
    "revoke": (
        lambda: revoke_request(CONFIG, f"{ISSUER}/v1/revoke", "rt"),
        "revoke",
        {"token": "rt", "client_id": "cid"},
    ),
}  # fmt: skip


@pytest.mark.parametrize(("build", "kind", "fields"), REQUESTS.values(), ids=REQUESTS.keys())
def test_every_request_is_an_exact_form_post_marked_with_its_kind(
    build: Build, kind: str, fields: dict[str, str]
) -> None:
    request = build()  # built by the test itself, so a mutation run knows the test covers it
    assert request.method == "POST"
    assert form(request) == fields  # no empty 'scope=' either
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.extensions == {"okta_nb_auth": kind}


def test_a_private_key_jwt_request_carries_an_assertion_for_its_url_instead() -> None:
    key = rsa_key("k1")
    config = OktaConfig(ISSUER, "0oaSERVICE", private_key=key, key_id="k1")
    fields = form(refresh_request(config, TOKEN, "rt"))
    assertion = fields.pop("client_assertion")
    assert fields == {
        "grant_type": "refresh_token",
        "refresh_token": "rt",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    }
    claims = jwt.decode(assertion, key.public_key(), algorithms=["RS256"], audience=TOKEN)
    assert claims["iss"] == claims["sub"] == "0oaSERVICE"


def test_a_pkce_verifier_has_64_characters() -> None:
    assert len(make_pkce()[0]) == 64


# ------------------------------------------------------------------ rate limits


def rate_limited(**headers: str) -> RateLimited:
    exc = error_from_response(answer(429, content=b"", **headers), NOW)
    assert isinstance(exc, RateLimited) and exc.status_code == 429
    return exc


def test_a_reset_without_a_date_header_is_taken_as_it_is() -> None:
    exc = rate_limited(**{"X-Rate-Limit-Reset": str(int(NOW + 30))})
    assert exc.retry_at == NOW + 30
    assert str(exc) == (
        "Okta's rate limit was hit (HTTP 429): the current tokens are kept; retry in 30 s, "
        "when the limit resets."
    )


def test_a_reset_in_the_past_says_retry_now_and_no_reset_says_later() -> None:
    assert "; retry in 0 s, when" in str(rate_limited(**{"X-Rate-Limit-Reset": str(int(NOW - 9))}))
    assert str(rate_limited()) == (
        "Okta's rate limit was hit (HTTP 429): the current tokens are kept; retry later, when "
        "the limit resets."
    )


def test_a_reset_that_is_not_a_finite_number_says_nothing() -> None:
    assert rate_limited(**{"X-Rate-Limit-Reset": "nan"}).retry_at is None


def test_a_reset_in_the_servers_clock_is_converted_to_ours() -> None:
    date = email.utils.formatdate(NOW + 100, usegmt=True)
    exc = rate_limited(**{"X-Rate-Limit-Reset": str(int(NOW + 130)), "Date": date})
    assert exc.retry_at == pytest.approx(NOW + 30, abs=1)


# ------------------------------------------------------------------ other failures


def test_any_500_is_transient_whatever_its_body_says() -> None:
    exc = error_from_response(answer(500, {"error": "invalid_grant"}), NOW)
    assert type(exc) is TransientError
    assert (str(exc), exc.status_code) == ("Okta answered HTTP 500; retry later.", 500)
    assert type(error_from_response(answer(499, content=b"<html>"), NOW)) is TransientError


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (404, {"errorSummary": "Not found: Resource not found: x"}, ConfigError,
         f"HTTP 404 from {PATH}: Not found: Resource not found: x. Check the issuer URL."),
        (400, {"errorSummary": "Bad request"}, ProtocolError,
         f"HTTP 400 from {PATH}: Bad request. Check the issuer URL."),
        (400, ["not", "an", "object"], ProtocolError,
         f"HTTP 400 from {PATH}: no OAuth error. Check the issuer URL."),
        (401, {"error": 5}, ProtocolError,
         f"HTTP 401 from {PATH}: no OAuth error. Check the issuer URL."),
    ],
    ids=["404-summary", "400-summary", "400-list", "401-error-not-text"],
)  # fmt: skip
def test_answers_that_are_not_oauth_errors_point_at_the_issuer(
    status: int, body: Any, cls: type[Exception], message: str
) -> None:
    exc = error_from_response(answer(status, body), NOW)
    assert type(exc) is cls
    assert (str(exc), exc.status_code) == (message, status)


@pytest.mark.parametrize(
    ("body", "grant", "cls", "message"),
    [
        ({"error": "something_new", "error_description": "Okta says no."}, None, OktaAuthError,
         "Okta refused the request: something_new (Okta says no.). See Okta's error description."),
        ({"error": "invalid_grant", "error_description": None}, "refresh_token", LoginRequired,
         "Okta refused the request: invalid_grant. The grant (refresh token or code) is dead. "
         "Log in again (for example with the login widget or the device flow)."),
        ({"error": "server_error", "error_description": 5}, None, TransientError,
         "Okta refused the request: server_error. Okta had an internal error; retry later."),
    ],
    ids=["unknown", "invalid_grant-on-refresh", "description-not-text"],
)  # fmt: skip
def test_oauth_errors_read_exactly(
    body: dict[str, Any], grant: str | None, cls: type[Exception], message: str
) -> None:
    exc = error_from_response(answer(400, body), NOW, grant)
    assert type(exc) is cls and str(exc) == message
    described = body["error_description"]
    assert exc.error_description == (described if isinstance(described, str) else None)


@pytest.mark.parametrize(
    ("content", "headers", "message"),
    [
        (b"", {}, "with an empty body (no content type)"),
        (b"<html>", {"Content-Type": "text/html"}, "with a body that is not JSON (text/html)"),
    ],
)
def test_bodies_that_are_not_json_are_transient_and_say_so(
    content: bytes, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(TransientError) as info:
        parse_token_response(answer(200, content=content, **headers), NOW)
    assert str(info.value) == (
        f"{PATH} answered HTTP 200 {message}; a proxy or an outage may be in the way. Retry later."
    )
    assert info.value.status_code == 200


def test_json_nested_too_deeply_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError) as info:
        parse_token_response(answer(200, content=b"[" * 100_000 + b"]" * 100_000), NOW)
    assert str(info.value) == (
        f"{PATH} answered HTTP 200 with JSON nested too deeply to be an OAuth answer."
    )
    assert info.value.status_code == 200


def test_a_failed_token_answer_raises_the_error_for_its_grant_and_time() -> None:
    refused = {"error": "unauthorized_client", "error_description": "Not for you."}
    with pytest.raises(ConfigError, match="enable the Refresh Token grant type"):
        parse_token_response(answer(400, refused), NOW, "refresh_token")
    limited = answer(429, content=b"", **{"X-Rate-Limit-Reset": str(int(NOW + 30))})
    with pytest.raises(RateLimited, match="retry in 30 s"):
        parse_token_response(limited, NOW, "refresh_token")
