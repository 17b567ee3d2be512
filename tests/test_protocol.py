"""Sans-I/O protocol: request building, client authentication, response and error parsing."""

from __future__ import annotations

import base64
import email.utils
import hashlib
from urllib.parse import parse_qsl, unquote_plus

import httpx
import pytest

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
    pkce_challenge,
    refresh_request,
    revoke_request,
    server_skew,
)

ISSUER = "https://dev-1.okta.com/oauth2/default"
TOKEN = f"{ISSUER}/v1/token"
SECRET = "s3cr:et+with&odd=chars %#"
RT = "rt+with/odd=chars&more"
NOW = 1_800_000_000.0


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


def response(
    status: int, *, json: object = None, content: bytes | None = None, **headers: str
) -> httpx.Response:
    request = httpx.Request("POST", TOKEN)
    if json is not None:
        return httpx.Response(status, json=json, headers=headers, request=request)
    return httpx.Response(status, content=content or b"", headers=headers, request=request)


def test_basic_auth_form_encodes_both_parts() -> None:
    config = OktaConfig(ISSUER, "client:id", SECRET)
    request = refresh_request(config, TOKEN, RT)
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    assert scheme == "Basic"
    assert (unquote_plus(user), unquote_plus(password)) == ("client:id", SECRET)
    assert ":" not in user  # the ':' in the id was encoded, so the split is unambiguous
    body = form(request)
    assert body == {"grant_type": "refresh_token", "refresh_token": RT}
    assert "client_secret" not in body and "client_id" not in body


def test_post_auth_puts_credentials_only_in_body() -> None:
    config = OktaConfig(ISSUER, "cid", SECRET, token_endpoint_auth_method="client_secret_post")
    request = refresh_request(config, TOKEN, RT)
    assert "Authorization" not in request.headers
    assert form(request) == {
        "grant_type": "refresh_token",
        "refresh_token": RT,
        "client_id": "cid",
        "client_secret": SECRET,
    }


def test_public_client_sends_only_client_id() -> None:
    request = refresh_request(OktaConfig(ISSUER, "cid"), TOKEN, RT, scopes=["openid", "email"])
    assert "Authorization" not in request.headers
    assert form(request)["client_id"] == "cid"
    assert form(request)["scope"] == "openid email"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.method == "POST" and str(request.url) == TOKEN


def test_other_grants() -> None:
    config = OktaConfig(ISSUER, "cid")
    code = form(authorization_code_request(config, TOKEN, "c0de", "http://127.0.0.1/cb", "v" * 43))
    assert code["grant_type"] == "authorization_code" and code["code_verifier"] == "v" * 43
    assert form(client_credentials_request(config, TOKEN, ["demo.read"]))["scope"] == "demo.read"
    assert form(device_code_request(config, TOKEN, "dc"))["grant_type"] == DEVICE_CODE_GRANT
    device = device_authorize_request(config, f"{ISSUER}/v1/device/authorize")
    assert form(device)["scope"] == "openid email profile offline_access"
    revoke = form(revoke_request(config, f"{ISSUER}/v1/revoke", RT, "refresh_token"))
    assert revoke == {"token": RT, "token_type_hint": "refresh_token", "client_id": "cid"}


def test_pkce() -> None:
    verifier, challenge = make_pkce()
    assert len(verifier) >= 43
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert challenge == expected.decode() == pkce_challenge(verifier)
    assert make_pkce()[0] != verifier


def test_parse_success_uses_send_time() -> None:
    body = {"token_type": "Bearer", "expires_in": 3600, "access_token": "a" * 40, "scope": "openid"}
    tokens = parse_token_response(response(200, json=body), NOW)
    assert tokens.expires_at == NOW + 3600
    assert tokens.refresh_token is None and tokens.scopes == ("openid",)


@pytest.mark.parametrize("expires_in", [None, "soon", -5, [1]])
def test_bad_expires_in_is_protocol_error(expires_in: object) -> None:
    body: dict[str, object] = {"access_token": "a" * 40, "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    with pytest.raises(ProtocolError, match="expires_in"):
        parse_token_response(response(200, json=body), NOW)


@pytest.mark.parametrize(
    ("error", "status", "cls", "needle"),
    [
        ("invalid_grant", 400, LoginRequired, "Log in again"),
        ("invalid_client", 401, ConfigError, "client_secret"),
        ("invalid_scope", 400, ConfigError, "scopes"),
        ("access_denied", 401, ConfigError, "assigned"),
        ("slow_down", 400, TransientError, "less often"),
        ("something_new", 400, OktaAuthError, "something_new"),
    ],
)
def test_error_map(error: str, status: int, cls: type[Exception], needle: str) -> None:
    body = {"error": error, "error_description": "Okta says no."}
    exc = error_from_response(response(status, json=body), NOW)
    assert type(exc) is cls
    assert needle in str(exc) and "Okta says no." in str(exc)
    assert (exc.error, exc.error_description, exc.status_code) == (error, "Okta says no.", status)


def test_unauthorized_client_on_refresh_names_the_admin_console_fix() -> None:
    body = {
        "error": "unauthorized_client",
        "error_description": "The client is not authorized to use the provided grant type.",
    }
    exc = error_from_response(response(400, json=body), NOW, grant_type="refresh_token")
    assert isinstance(exc, ConfigError)
    assert "enable the Refresh Token grant type for this app" in str(exc)
    assert "Applications > (your app) > General Settings" in str(exc)


def test_429_is_rate_limited_with_reset_in_our_clock() -> None:
    server_now = NOW + 100  # the server's clock runs 100 s ahead of ours
    headers = {
        "X-Rate-Limit-Reset": str(int(server_now + 30)),
        "Date": email.utils.formatdate(server_now, usegmt=True),
    }
    exc = error_from_response(response(429, json={"errorCode": "E0000047"}, **headers), NOW)
    assert isinstance(exc, RateLimited)
    assert exc.retry_at == pytest.approx(NOW + 30, abs=1)
    assert exc.status_code == 429


def test_429_without_headers() -> None:
    exc = error_from_response(response(429, content=b""), NOW)
    assert isinstance(exc, RateLimited) and exc.retry_at is None


@pytest.mark.parametrize(
    ("status", "content", "ctype"),
    [
        (503, b"<html>Service Unavailable</html>", "text/html"),
        (500, b'{"error":"server_error"}', "application/json"),
        (400, b"<html>proxy</html>", "text/html"),
        (400, b"", "text/plain"),
    ],
)
def test_transient_bodies(status: int, content: bytes, ctype: str) -> None:
    exc = error_from_response(response(status, content=content, **{"Content-Type": ctype}), NOW)
    assert isinstance(exc, TransientError) and not isinstance(exc, RateLimited)
    assert exc.status_code == status


def test_html_on_200_is_transient() -> None:
    with pytest.raises(TransientError, match="not JSON"):
        parse_token_response(response(200, content=b"<html>captive portal</html>"), NOW)


def test_empty_200_is_transient() -> None:
    with pytest.raises(TransientError, match="empty body"):
        parse_token_response(response(200, content=b""), NOW)


def test_management_style_404_is_config_error() -> None:
    body = {"errorCode": "E0000007", "errorSummary": "Not found: Resource not found: x"}
    exc = error_from_response(response(404, json=body), NOW)
    assert isinstance(exc, ConfigError) and "issuer" in str(exc)


def test_error_message_never_contains_the_secret_or_refresh_token() -> None:
    config = OktaConfig(ISSUER, "cid", SECRET)
    request = refresh_request(config, TOKEN, RT)
    resp = httpx.Response(400, json={"error": "invalid_grant"}, request=request)
    exc = error_from_response(resp, NOW)
    assert SECRET not in repr(exc) + str(exc) and RT not in repr(exc) + str(exc)


def test_server_skew() -> None:
    resp = response(200, json={}, Date=email.utils.formatdate(NOW + 42, usegmt=True))
    assert server_skew(resp, NOW) == pytest.approx(42, abs=1)
    assert server_skew(response(200, json={}), NOW) is None
    assert server_skew(response(200, json={}, Date="garbage"), NOW) is None
