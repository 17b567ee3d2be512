"""Bad input: Okta's error JSON with the right status, never a 500 or a stack trace.

Every request here goes through the checking client, which fails the test on any 500 or on
a body that contains "Traceback".
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from devserver_helpers import (
    ADA,
    ADA_PASSWORD,
    CODE_INVALID,
    DEFAULT,
    REDIRECT,
    RT_INVALID,
    api,
    assert_error,
    authorize_params,
    client,
    device_start,
    exchange,
    login_code,
    post,
    refresh,
    sign_in,
    txn_of,
)

from okta_nb_auth.devserver import DevServer

FORM = "application/x-www-form-urlencoded"
OAUTH_ENDPOINTS = ["token", "introspect", "revoke", "device/authorize"]
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def _raw(http: httpx.Client, path: str, body: bytes, ctype: str | None = FORM) -> httpx.Response:
    headers = {"Content-Type": ctype} if ctype else {}
    return http.post(path, content=body, headers=headers)


# -- malformed bodies -----------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", OAUTH_ENDPOINTS)
@pytest.mark.parametrize(
    "ctype", ["application/json", "text/plain", "multipart/form-data; boundary=x", None]
)
def test_wrong_content_type(http: httpx.Client, endpoint: str, ctype: str | None) -> None:
    response = _raw(http, f"{DEFAULT}/{endpoint}", b'{"grant_type": "client_credentials"}', ctype)
    assert_error(
        response,
        400,
        "invalid_request",
        "The request body must be sent as application/x-www-form-urlencoded.",
    )


def test_content_type_with_charset_is_fine(dev: DevServer, http: httpx.Client) -> None:
    response = _raw(
        http,
        f"{DEFAULT}/token",
        f"grant_type=refresh_token&refresh_token=x&client_id={dev.app('native').client_id}".encode(),
        FORM + "; charset=UTF-8",
    )
    assert_error(response, 400, "invalid_grant", RT_INVALID)


@pytest.mark.parametrize("endpoint", OAUTH_ENDPOINTS)
@pytest.mark.parametrize("body", [b"grant_type=\xff\xfe", b"client_id=%FF%FE", b"\xc3\x28=1"])
def test_non_utf8_body(http: httpx.Client, endpoint: str, body: bytes) -> None:
    response = _raw(http, f"{DEFAULT}/{endpoint}", body)
    assert_error(response, 400, "invalid_request", "The request body is not valid UTF-8.")


@pytest.mark.parametrize("endpoint", OAUTH_ENDPOINTS)
def test_oversized_body_declared(http: httpx.Client, endpoint: str) -> None:
    response = _raw(http, f"{DEFAULT}/{endpoint}", b"a=" + b"x" * 70_000)
    assert_error(response, 413, "invalid_request", "The request body is larger than 65536 bytes.")


def test_oversized_body_streamed_without_length(http: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 8192

    response = http.post(f"{DEFAULT}/token", content=chunks(), headers={"Content-Type": FORM})
    assert "content-length" not in response.request.headers  # sent chunked
    assert_error(response, 413, "invalid_request", "The request body is larger than 65536 bytes.")


def test_body_at_the_limit_is_read(dev: DevServer, http: httpx.Client) -> None:
    cid = dev.app("native").client_id
    prefix = f"client_id={cid}&grant_type=refresh_token&refresh_token=".encode()
    body = prefix + b"x" * (65536 - len(prefix))
    assert_error(_raw(http, f"{DEFAULT}/token", body), 400, "invalid_grant", RT_INVALID)


@pytest.mark.parametrize("name", ["grant_type", "client_id", "refresh_token", "scope"])
def test_duplicate_parameter(dev: DevServer, http: httpx.Client, name: str) -> None:
    fields = {
        "client_id": dev.app("native").client_id,
        "grant_type": "refresh_token",
        "refresh_token": "x",
        "scope": "openid",
    }
    body = "&".join(f"{k}={v}" for k, v in fields.items()) + f"&{name}={fields[name]}"
    response = _raw(http, f"{DEFAULT}/token", body.encode())
    assert_error(
        response, 400, "invalid_request", f"The '{name}' parameter was provided more than once."
    )


def test_too_many_parameters(http: httpx.Client) -> None:
    body = "&".join(f"p{i}=v" for i in range(150)).encode()
    assert_error(
        _raw(http, f"{DEFAULT}/token", body),
        400,
        "invalid_request",
        "The request has too many parameters.",
    )


@pytest.mark.parametrize(
    "body", [b"", b"%zz&&=&a", b"=", b"&&&&", b"grant_type", b"a=%", b"\x00\x01\x02"]
)
def test_garbled_forms_get_okta_json(http: httpx.Client, body: bytes) -> None:
    response = _raw(http, f"{DEFAULT}/token", body)
    assert response.status_code in (400, 401)
    assert set(response.json()) == {"error", "error_description"}


# -- grants ---------------------------------------------------------------------------------


def test_wrong_pkce_verifier(dev: DevServer, http: httpx.Client) -> None:
    code, _, _ = login_code(dev, "native")
    assert_error(
        exchange(http, dev, "native", code, "W" * 50),
        400,
        "invalid_grant",
        "PKCE verification failed.",
    )


def test_non_ascii_pkce_verifier(dev: DevServer, http: httpx.Client) -> None:
    code, _, _ = login_code(dev, "native")
    response = exchange(http, dev, "native", code, "ünïcödé-verifier-" * 3)
    assert_error(response, 400, "invalid_grant", "PKCE verification failed.")


def test_replayed_code_is_refused_and_revokes_what_it_issued(
    dev: DevServer, http: httpx.Client
) -> None:
    code, verifier, _ = login_code(dev, "native")
    first = exchange(http, dev, "native", code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert api(http, "whoami", tokens["access_token"]).status_code == 200
    assert_error(exchange(http, dev, "native", code, verifier), 400, "invalid_grant", CODE_INVALID)
    assert_error(
        refresh(http, dev, "native", tokens["refresh_token"]), 400, "invalid_grant", RT_INVALID
    )
    assert api(http, "whoami", tokens["access_token"]).status_code == 401
    introspected = post(
        http, dev, "native", f"{DEFAULT}/introspect", {"token": tokens["access_token"]}
    )
    assert introspected.json() == {"active": False}


def test_replayed_code_does_not_touch_other_logins(dev: DevServer, http: httpx.Client) -> None:
    other = dev.login_as(ADA, "native")
    code, verifier, _ = login_code(dev, "native")
    assert exchange(http, dev, "native", code, verifier).status_code == 200
    assert exchange(http, dev, "native", code, verifier).status_code == 400
    assert api(http, "whoami", other.access_token).status_code == 200


# -- /v1/authorize: HTML pages, not redirects, for a bad client or redirect URI --------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "http://127.0.0.1:9999/callback",  # loopback, other port: exact match required
        REDIRECT + "/",
        "",
    ],
)
def test_unregistered_redirect_uri_is_an_error_page(
    dev: DevServer, http: httpx.Client, redirect_uri: str
) -> None:
    params = {**authorize_params(dev, "native"), "redirect_uri": redirect_uri}
    response = http.get(f"{DEFAULT}/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert (
        "The &#x27;redirect_uri&#x27; parameter must be a Login redirect URI in the client app "
        "settings." in response.text
    )


@pytest.mark.parametrize("client_id", ["0oaNOPE", "", SCRIPT])
def test_unknown_client_at_authorize_is_an_error_page(http: httpx.Client, client_id: str) -> None:
    response = http.get(
        f"{DEFAULT}/authorize",
        params={"client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code"},
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "Invalid value for &#x27;client_id&#x27; parameter." in response.text
    assert "<script>" not in response.text


def test_sign_in_post_with_a_bad_body_is_an_error_page(http: httpx.Client) -> None:
    wrong_type = http.post(f"{DEFAULT}/authorize", content=b"{}", headers={"Content-Type": "x/y"})
    assert wrong_type.status_code == 400
    assert wrong_type.headers["content-type"].startswith("text/html")
    huge = _raw(http, f"{DEFAULT}/authorize", b"txn=" + b"x" * 70_000)
    assert huge.status_code == 413
    assert huge.headers["content-type"].startswith("text/html")


# -- everything reflected in HTML is escaped ------------------------------------------------


def test_username_is_escaped_on_the_sign_in_page(dev: DevServer) -> None:
    with client(dev) as browser:
        response = sign_in(browser, authorize_params(dev, "web"), user=SCRIPT, password="x")
    assert response.status_code == 401
    assert SCRIPT not in response.text
    assert ESCAPED in response.text


def test_attribute_breaking_username_is_escaped(dev: DevServer) -> None:
    evil = '"><img src=x onerror=alert(1)>'
    with client(dev) as browser:
        response = sign_in(browser, authorize_params(dev, "web"), user=evil, password="x")
    assert evil not in response.text
    assert "&quot;&gt;&lt;img" in response.text


def test_state_is_escaped_in_form_post_mode(dev: DevServer) -> None:
    params = authorize_params(dev, "web", state=SCRIPT, response_mode="form_post")
    with client(dev) as browser:
        response = sign_in(browser, params)
    assert response.status_code == 200
    assert SCRIPT not in response.text
    assert ESCAPED in response.text


def test_state_is_url_encoded_in_the_redirect(dev: DevServer) -> None:
    with client(dev) as browser:
        response = sign_in(browser, authorize_params(dev, "web", state=SCRIPT))
    assert "<" not in response.headers["location"]


def test_user_code_and_username_are_escaped_on_activate(http: httpx.Client) -> None:
    shown = http.get("/activate", params={"user_code": SCRIPT})
    assert shown.status_code == 200
    assert SCRIPT not in shown.text and ESCAPED in shown.text
    posted = http.post("/activate", data={"user_code": SCRIPT, "username": SCRIPT, "password": "x"})
    assert posted.status_code == 400
    assert SCRIPT not in posted.text
    assert posted.text.count(ESCAPED) == 2


def test_username_is_escaped_after_a_failed_activation(dev: DevServer, http: httpx.Client) -> None:
    start = device_start(http, dev)
    response = http.post(
        "/activate",
        data={"user_code": start["user_code"], "username": SCRIPT, "password": "nope"},
    )
    assert response.status_code == 401
    assert SCRIPT not in response.text and ESCAPED in response.text


def test_activate_with_a_bad_body(http: httpx.Client) -> None:
    response = _raw(http, "/activate", b"user_code=\xff")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")


# -- a sweep of odd requests: none may be a 500 ---------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/oauth2/default/v1/userinfo", {"headers": {"Authorization": "Bearer a.b.c"}}),
        ("GET", "/oauth2/default/v1/userinfo", {"headers": {"Authorization": "Bearer ..."}}),
        ("POST", "/oauth2/default/v1/userinfo", {"headers": {"Authorization": "Basic xx"}}),
        ("GET", "/api/whoami", {"headers": {"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}}),
        ("GET", "/api/reports", {"headers": {"Authorization": b"Bearer \xff\xfe"}}),
        ("GET", "/oauth2/default/v1/logout", {"params": {"id_token_hint": "a.b.c"}}),
        ("GET", "/oauth2/default/v1/logout", {"params": {"id_token_hint": SCRIPT}}),
        ("GET", "/oauth2/default/v1/authorize", {"params": {"client_id": "x" * 5000}}),
        ("GET", "/oauth2/default/v1/authorize", {"params": {"redirect_uri": "\x00"}}),
        ("GET", "/activate", {"params": {"user_code": "\u00e9" * 200}}),
        ("POST", "/oauth2/default/v1/authorize", {"data": {"txn": SCRIPT}}),
        ("DELETE", "/oauth2/default/v1/token", {}),
        ("GET", "/oauth2/default/v1/nothing-here", {}),
        ("GET", "/oauth2/%00/v1/keys", {}),
    ],
)
def test_odd_requests_never_fail_with_500(
    http: httpx.Client, method: str, path: str, kwargs: dict[str, object]
) -> None:
    response = http.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert response.status_code < 500


@pytest.mark.parametrize("token_value", ["", "x", "a.b.c", SCRIPT, "é" * 10])
@pytest.mark.parametrize("endpoint", ["introspect", "revoke"])
def test_odd_tokens_at_introspect_and_revoke(
    dev: DevServer, http: httpx.Client, token_value: str, endpoint: str
) -> None:
    response = post(http, dev, "web", f"{DEFAULT}/{endpoint}", {"token": token_value})
    if not token_value:
        assert_error(response, 400, "invalid_request", "The required parameter 'token' is missing.")
    elif endpoint == "introspect":
        assert response.json() == {"active": False}
    else:
        assert response.status_code == 200 and response.content == b""


def test_login_form_with_unknown_fields_and_no_action(dev: DevServer) -> None:
    with client(dev) as browser:
        page = browser.get(f"{DEFAULT}/authorize", params=authorize_params(dev, "web"))
        response = browser.post(
            f"{DEFAULT}/authorize",
            data={"txn": txn_of(page.text), "username": ADA, "password": ADA_PASSWORD, "x": "y"},
        )
    assert response.status_code == 302
