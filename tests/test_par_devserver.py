"""The dev server's pushed authorization requests: Okta's ``/v1/par`` (RFC 9126).

Pushing (client authentication as at the token endpoint, the authorize checks as JSON, 201),
using a ``request_uri`` at ``/v1/authorize`` (once, before it expires, with the pushed
parameters only), ``require_pushed_authorization_requests`` per app, and bad input: Okta's
error JSON with the right status, never a 500 (the checking client fails a test on any 500).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from devserver_helpers import (
    ADA,
    DEFAULT,
    GENERIC_CLIENT,
    INVALID_SCOPE,
    ORG,
    REDIRECT,
    assert_error,
    authorize_params,
    basic,
    client,
    exchange,
    pkce,
    push,
    pushed_query,
    query_of,
    sign_in,
    txn_of,
)

from okta_nb_auth.devserver import DevServer, _par

INVALID_URI = "The authorize request_uri is invalid."
PAR_REQUIRED = "A pushed authorization request (PAR) is required by the application."
BAD_REDIRECT = (
    "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings."
)
NO_STORE = "no-cache, no-store"


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def _pushed(
    http: httpx.Client, dev: DevServer, app: str = "native", base: str = DEFAULT, **extra: str
) -> tuple[str, str | None, dict[str, str]]:
    """Push a valid request: (request_uri, PKCE verifier, the pushed parameters)."""
    verifier, challenge = pkce() if dev.app(app).is_public else (None, None)
    params = authorize_params(dev, app, challenge=challenge, **extra)
    response = push(http, dev, app, params, base)
    assert response.status_code == 201, response.text
    uri: str = response.json()["request_uri"]
    return uri, verifier, params


def _authorize(dev: DevServer, query: dict[str, str], base: str = DEFAULT) -> httpx.Response:
    with client(dev) as browser:
        return browser.get(f"{base}/authorize", params=query)


def _code(dev: DevServer, query: dict[str, str], base: str = DEFAULT) -> dict[str, str]:
    """Sign in through ``query``; the redirect's parameters."""
    with client(dev) as browser:
        response = sign_in(browser, query, base=base)
    assert response.status_code == 302, response.text
    return query_of(response.headers["location"])


# ----------------------------------------------------------------------- pushing


@pytest.mark.parametrize("base", [DEFAULT, ORG])
def test_a_public_app_pushes_and_signs_in_with_the_request_uri(
    dev: DevServer, http: httpx.Client, base: str
) -> None:
    before = len(dev.events)
    response = push(http, dev, "native", authorize_params(dev, "native", challenge=pkce()[1]), base)
    assert response.status_code == 201
    assert response.headers["cache-control"] == NO_STORE
    body = response.json()
    assert set(body) == {"request_uri", "expires_in"}
    assert body["expires_in"] == 3600  # Okta's example
    assert body["request_uri"].startswith("urn:okta:")
    uri, verifier, _ = _pushed(http, dev, "native", base, state="pushed-state")
    redirect = _code(dev, pushed_query(dev, "native", uri), base)
    assert redirect["state"] == "pushed-state"
    assert exchange(http, dev, "native", redirect["code"], verifier, base).status_code == 200
    events = [e for e in dev.events[before:] if e.endpoint == "par"]
    assert [(e.status, e.auth_method, e.app) for e in events] == [(201, "none", "native")] * 2


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_confidential_app_pushes_with_basic_or_body_credentials(
    dev: DevServer, http: httpx.Client, method: str
) -> None:
    app = dev.app("web")
    assert app.client_secret is not None
    before = len(dev.events)
    params = authorize_params(dev, "web")
    if method == "client_secret_basic":
        headers = {"Authorization": basic(app.client_id, app.client_secret)}
        response = http.post(f"{DEFAULT}/par", data=params, headers=headers)
    else:
        response = http.post(f"{DEFAULT}/par", data={**params, "client_secret": app.client_secret})
    assert response.status_code == 201, response.text
    redirect = _code(dev, pushed_query(dev, "web", response.json()["request_uri"]))
    assert exchange(http, dev, "web", redirect["code"], None).status_code == 200
    [event] = [e for e in dev.events[before:] if e.endpoint == "par"]
    # As at the token endpoint: the web app is set to Basic, a body secret is noted, not refused.
    mismatch = None if method == "client_secret_basic" else "invalid_token_endpoint_auth_method"
    assert (event.status, event.auth_method, event.auth_mismatch) == (201, method, mismatch)


# ------------------------------------------------------------- using the request_uri


def test_a_request_uri_gives_one_code(dev: DevServer, http: httpx.Client) -> None:
    uri, _, _ = _pushed(http, dev)
    query = pushed_query(dev, "native", uri)
    assert _authorize(dev, query).status_code == 200  # a reload before signing in is fine
    _code(dev, query)
    assert_error(_authorize(dev, query), 400, "invalid_request_uri", INVALID_URI)


def test_a_second_sign_in_through_one_request_uri_is_refused(
    dev: DevServer, http: httpx.Client
) -> None:
    uri, _, _ = _pushed(http, dev)
    query = pushed_query(dev, "native", uri)
    with client(dev) as first, client(dev) as second:
        pages = [browser.get(f"{DEFAULT}/authorize", params=query) for browser in (first, second)]
        form = {"username": ADA, "password": "analytical-engine", "action": "signin"}
        answers = [
            browser.post(f"{DEFAULT}/authorize", data={**form, "txn": txn_of(page.text)})
            for browser, page in zip((first, second), pages, strict=True)
        ]
    assert answers[0].status_code == 302
    assert_error(answers[1], 400, "invalid_request_uri", INVALID_URI)


def test_a_request_uri_expires_on_the_servers_clock(fresh_dev: DevServer) -> None:
    with client(fresh_dev) as http:
        early, _, _ = _pushed(http, fresh_dev)
        late, _, _ = _pushed(http, fresh_dev)
    fresh_dev.advance_clock(3599)
    assert _authorize(fresh_dev, pushed_query(fresh_dev, "native", early)).status_code == 200
    fresh_dev.advance_clock(2)
    response = _authorize(fresh_dev, pushed_query(fresh_dev, "native", late))
    assert_error(response, 400, "invalid_request_uri", INVALID_URI)


def test_only_the_pushed_parameters_count(dev: DevServer, http: httpx.Client) -> None:
    uri, _, params = _pushed(http, dev, state="pushed")
    query = {
        **pushed_query(dev, "native", uri),
        "state": "from-the-query",
        "redirect_uri": "http://localhost:8765/callback",  # registered too, but not pushed
        "scope": "openid",
    }
    with client(dev) as browser:
        response = sign_in(browser, query)
    location = response.headers["location"]
    assert location.startswith(params["redirect_uri"] + "?")
    assert query_of(location)["state"] == "pushed"


@pytest.mark.parametrize(
    ("change", "status", "error", "description"),
    [
        ({"request_uri": "urn:okta:never-issued"}, 400, "invalid_request_uri", INVALID_URI),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, 400, "invalid_request",
         "The authorize request must not contain both a request object and a request uri."),
        ({"client_id": "web"}, 401, "invalid_client",
         "The 'client_id' parameter does not match the expected value for the provided "
         "request_uri."),
    ],
)  # fmt: skip
def test_a_bad_request_uri_gets_okta_json(
    dev: DevServer,
    http: httpx.Client,
    change: dict[str, str],
    status: int,
    error: str,
    description: str,
) -> None:
    uri, _, _ = _pushed(http, dev)
    query = {**pushed_query(dev, "native", uri), **change}
    if query["client_id"] == "web":
        query["client_id"] = dev.app("web").client_id
    assert_error(_authorize(dev, query), status, error, description)


def test_a_request_uri_of_the_other_server_is_refused(dev: DevServer, http: httpx.Client) -> None:
    uri, _, _ = _pushed(http, dev, base=ORG)
    response = _authorize(dev, pushed_query(dev, "native", uri), base=DEFAULT)
    description = "The request_uri was issued for another authorization server."
    assert_error(response, 400, "invalid_request_uri", description)


# -------------------------------------------------------------- refused pushes


def test_an_unregistered_redirect_uri_is_refused(dev: DevServer, http: httpx.Client) -> None:
    params = authorize_params(dev, "native", challenge=pkce()[1])
    params["redirect_uri"] = "http://127.0.0.1:9/elsewhere"
    assert_error(push(http, dev, "native", params), 400, "invalid_request", BAD_REDIRECT)


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        ({"code_challenge": None}, "invalid_request",
         "PKCE code challenge is required by the application."),
        ({"code_challenge_method": "plain"}, "invalid_request",
         "PKCE code challenge method is not supported. Valid values: [S256]"),
        ({"scope": "openid nonsense"}, "invalid_scope", INVALID_SCOPE),
        ({"state": None}, "invalid_request",
         "The authentication request has an invalid 'state' parameter."),
        ({"response_type": "token"}, "unsupported_response_type",
         "The response type is not supported by the authorization server. "
         "Configured response types: [code]."),
        ({"request_uri": "urn:okta:x"}, "invalid_request",
         "The 'request_uri' parameter must not be present in the request."),
    ],
)  # fmt: skip
def test_the_authorize_checks_answer_as_json(
    dev: DevServer,
    http: httpx.Client,
    change: dict[str, str | None],
    error: str,
    description: str,
) -> None:
    params = authorize_params(dev, "native", challenge=pkce()[1])
    for name, value in change.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    assert_error(push(http, dev, "native", params), 400, error, description)


@pytest.mark.parametrize(
    ("credentials", "status", "error", "description"),
    [
        ("nothing", 401, "invalid_client", "No client credentials found."),
        ("unknown", 401, "invalid_client", "Invalid value for 'client_id' parameter."),
        ("wrong-secret", 401, "invalid_client",
         "The client secret supplied for a confidential client is invalid."),
        ("secret-for-public", 401, "invalid_client", GENERIC_CLIENT),
        ("header-and-body", 401, "invalid_request",
         "Cannot supply multiple client credentials. Use one of the following: credentials in "
         "the Authorization header, credentials in the post body, or a client_assertion in the "
         "post body."),
    ],
)  # fmt: skip
def test_wrong_client_authentication_is_refused_and_logged(
    dev: DevServer, http: httpx.Client, credentials: str, status: int, error: str, description: str
) -> None:
    web = dev.app("web")
    assert web.client_secret is not None
    data = authorize_params(dev, "web")
    headers: dict[str, str] = {}
    if credentials == "nothing":
        data.pop("client_id")
    elif credentials == "unknown":
        data["client_id"] = "0oaNoSuchApp"
    elif credentials == "wrong-secret":
        headers["Authorization"] = basic(web.client_id, "not-the-secret-at-all")
    elif credentials == "secret-for-public":
        data = {**authorize_params(dev, "native", challenge=pkce()[1]), "client_secret": "x" * 20}
    else:
        headers["Authorization"] = basic(web.client_id, web.client_secret)
        data["client_secret"] = web.client_secret
    assert_error(
        http.post(f"{DEFAULT}/par", data=data, headers=headers), status, error, description
    )
    last = dev.events[-1]
    assert (last.endpoint, last.status, last.error) == ("par", status, error)


@pytest.mark.parametrize(
    ("content", "headers", "status", "description"),
    [
        (b'{"client_id": "x"}', {"Content-Type": "application/json"}, 400,
         "The request body must be sent as application/x-www-form-urlencoded."),
        (b"state=a&state=b", None, 400, "The 'state' parameter was provided more than once."),
        (b"scope=\xff\xfe", None, 400, "The request body is not valid UTF-8."),
        (b"x=" + b"a" * 70_000, None, 413, "The request body is larger than 65536 bytes."),
    ],
)  # fmt: skip
def test_malformed_bodies_get_okta_json(
    http: httpx.Client,
    content: bytes,
    headers: dict[str, str] | None,
    status: int,
    description: str,
) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = http.post(f"{DEFAULT}/par", content=content, headers=headers or form)
    assert_error(response, status, "invalid_request", description)


def test_live_pushed_requests_are_bounded(
    fresh_dev: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_par, "MAX_PUSHED", 3)
    with client(fresh_dev) as http:
        uris = [_pushed(http, fresh_dev)[0] for _ in range(4)]
    oldest = _authorize(fresh_dev, pushed_query(fresh_dev, "native", uris[0]))
    assert_error(oldest, 400, "invalid_request_uri", INVALID_URI)
    for uri in uris[1:]:
        assert _authorize(fresh_dev, pushed_query(fresh_dev, "native", uri)).status_code == 200


def test_only_post_is_served(http: httpx.Client) -> None:
    assert http.get(f"{DEFAULT}/par").status_code == 405
    assert http.post("/oauth2/nosuch/v1/par").status_code == 404


# ------------------------------------------------- require_pushed_authorization_requests


def test_an_app_that_requires_par_refuses_a_plain_request(fresh_dev: DevServer) -> None:
    app = fresh_dev.configure_app("native", require_pushed_authorization_requests=True)
    assert "PAR required" in repr(app)
    params = authorize_params(fresh_dev, "native", challenge=pkce()[1], state="plain")
    response = _authorize(fresh_dev, params)
    assert response.status_code == 302
    assert query_of(response.headers["location"]) == {
        "error": "invalid_request",
        "error_description": PAR_REQUIRED,
        "state": "plain",
    }
    # A plain request cannot pass itself off as a pushed one.
    with client(fresh_dev) as http:
        uri, _, _ = _pushed(http, fresh_dev)
        forged = _authorize(fresh_dev, {**params, "_request_uri": uri})
        assert query_of(forged.headers["location"])["error_description"] == PAR_REQUIRED
        redirect = _code(fresh_dev, pushed_query(fresh_dev, "native", uri))  # PAR still works
    assert "code" in redirect


def test_require_par_comes_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "dev.toml"
    path.write_text("[apps.native]\nrequire_pushed_authorization_requests = true\n")
    with DevServer(port=0, config=path) as dev:
        assert dev.app("native").require_pushed_authorization_requests is True
        params = authorize_params(dev, "native", challenge=pkce()[1])
        location = _authorize(dev, params).headers["location"]
        assert location.startswith(REDIRECT + "?error=invalid_request")


def test_require_par_must_be_a_boolean(tmp_path: Path) -> None:
    path = tmp_path / "dev.toml"
    path.write_text('[apps.native]\nrequire_pushed_authorization_requests = "yes"\n')
    with pytest.raises(ValueError, match="require_pushed_authorization_requests must be true"):
        DevServer(port=0, config=path)
