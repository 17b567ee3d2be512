"""Helpers for the dev-server tests: a checking HTTP client, PKCE, a browser login, token calls.

Everything here talks to a running :class:`DevServer` over loopback HTTP, as a client would.
The checking client fails the test on any 500 or on a response that shows a stack trace.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import jwt

from okta_nb_auth.devserver import DevServer, Event

DEFAULT = "/oauth2/default/v1"
ORG = "/oauth2/v1"
REDIRECT = "http://127.0.0.1:8765/callback"
WEB_REDIRECT = "http://localhost:3000/api/auth/callback/okta"
LOGOUT_REDIRECT = "http://127.0.0.1:8765/"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ADA, GRACE = "ada@example.com", "grace@example.com"
ADA_PASSWORD = "analytical-engine"
SCOPES = "openid profile email offline_access"

RT_INVALID = "The refresh token is invalid or expired."
CODE_INVALID = "The authorization code is invalid or has expired."
INVALID_SCOPE = (
    "The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the "
    "resource owner."
)
GENERIC_CLIENT = (
    "Client authentication failed. Either the client or the client credentials are invalid."
)
B64URL_43 = re.compile(r"^[A-Za-z0-9_-]{43}$")
ERROR_TYPE = "application/json;charset=UTF-8"
JSON = {"Content-Type": "application/json"}  # what every state-changing /admin call must send
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def check_response(response: httpx.Response) -> None:
    """Event hook: no response may be a 500 or carry a stack trace (issue 2, "Bad input")."""
    response.read()
    assert response.status_code != 500, f"500 from {response.request.url}: {response.text}"
    assert "Traceback" not in response.text, f"stack trace from {response.request.url}"


def client(dev: DevServer, *, check: bool = True, **options: Any) -> httpx.Client:
    """A fresh browser-like client (own cookie jar) that never follows redirects."""
    hooks = {"response": [check_response]} if check else {}
    options.setdefault("timeout", 10)
    return httpx.Client(base_url=dev.base_url, event_hooks=hooks, **options)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def client_assertion(
    dev: DevServer,
    app: str,
    audience: str,
    *,
    key: Any = None,
    alg: str = "RS256",
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """An RFC 7523 assertion for ``app`` (signed with the key the dev server made for it
    unless ``key`` is given); ``claims`` override the defaults, None drops one."""
    settings = dev.app(app)
    now = int(time.time())
    body = {"iss": settings.client_id, "sub": settings.client_id, "aud": audience, "iat": now}
    body.update(exp=now + 300, jti=secrets.token_urlsafe(16))
    body.update(claims)
    header = {"kid": settings.jwks["keys"][0]["kid"]} if settings.jwks else {}
    header.update(headers or {})
    signing = key if key is not None else settings.private_key_pem
    return signed({k: v for k, v in header.items() if v is not None}, body, signing, alg)


def _segment(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def signed(header: dict[str, Any], claims: dict[str, Any], key: Any, alg: str = "RS256") -> str:
    """A JWS of ``claims`` (None values dropped) signed as ``alg`` says, whatever the header
    holds: PyJWT's own checks on what it signs would stop the hostile values tests send."""
    signing_input = (
        _segment({**header, "alg": alg})
        + "."
        + _segment({k: v for k, v in claims.items() if v is not None})
    )
    algorithm = jwt.get_algorithm_by_name(alg)
    signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(key))
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def with_header(token: str, **changes: Any) -> str:
    """``token`` with its header changed (its signature no longer matching)."""
    _, payload, signature = token.split(".")
    return ".".join([_segment({**jwt.get_unverified_header(token), **changes}), payload, signature])


def assertion_fields(dev: DevServer, app: str, audience: str, **options: Any) -> dict[str, str]:
    """The form fields of ``private_key_jwt``: the assertion type and a fresh assertion."""
    assertion = client_assertion(dev, app, audience, **options)
    return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion}


def auth_for(
    dev: DevServer, app: str, url: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """(form fields, headers) that authenticate ``app`` with its configured method (a
    ``private_key_jwt`` assertion names ``url``, the endpoint it is sent to)."""
    settings = dev.app(app)
    method = settings.token_endpoint_auth_method
    if method == "none":
        return {"client_id": settings.client_id}, {}
    if method == "private_key_jwt":
        assert url is not None, "an assertion names the endpoint it is sent to"
        return assertion_fields(dev, app, url), {}
    assert settings.client_secret is not None
    if method == "client_secret_post":
        return {"client_id": settings.client_id, "client_secret": settings.client_secret}, {}
    return {}, {"Authorization": basic(settings.client_id, settings.client_secret)}


def post(
    http: httpx.Client, dev: DevServer, app: str, path: str, data: dict[str, str]
) -> httpx.Response:
    """POST a form to an OAuth endpoint (``path`` like ``/oauth2/default/v1/token``) as ``app``."""
    fields, headers = auth_for(dev, app, dev.base_url + path)
    return http.post(path, data={**fields, **data}, headers=headers)


def token(
    http: httpx.Client, dev: DevServer, app: str, data: dict[str, str], base: str = DEFAULT
) -> httpx.Response:
    return post(http, dev, app, f"{base}/token", data)


def refresh(
    http: httpx.Client,
    dev: DevServer,
    app: str,
    refresh_token: str,
    scope: str | None = None,
    base: str = DEFAULT,
) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if scope is not None:
        data["scope"] = scope
    return token(http, dev, app, data, base)


def assert_error(response: httpx.Response, status: int, error: str, description: str) -> None:
    """An Okta OAuth error: exact status, JSON with exactly ``error`` and ``error_description``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == ERROR_TYPE
    assert response.json() == {"error": error, "error_description": description}


def redirect_uri_for(dev: DevServer, app: str) -> str:
    return REDIRECT if app == "native" else WEB_REDIRECT


def authorize_params(
    dev: DevServer,
    app: str = "native",
    *,
    scope: str = SCOPES,
    state: str = "st4te",
    challenge: str | None = None,
    **extra: str,
) -> dict[str, str]:
    params = {
        "client_id": dev.app(app).client_id,
        "response_type": "code",
        "scope": scope,
        "redirect_uri": redirect_uri_for(dev, app),
        "state": state,
    }
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return params


def txn_of(page: str) -> str:
    """The hidden ``txn`` field of the sign-in form, as a browser would submit it."""
    match = re.search(r'<input type=hidden name=txn value="([^"]+)">', page)
    assert match, "no txn field in the sign-in page"
    return match.group(1)


def query_of(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    raw = parts.fragment or parts.query
    return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}


def sign_in(
    browser: httpx.Client,
    params: dict[str, str],
    *,
    user: str = ADA,
    password: str = ADA_PASSWORD,
    base: str = DEFAULT,
) -> httpx.Response:
    """GET /authorize, read the form's txn, POST the credentials; returns the POST's response."""
    page = browser.get(f"{base}/authorize", params=params)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    return browser.post(
        f"{base}/authorize",
        params=params,  # a form with action="" posts back to the same URL
        data={"txn": txn_of(page.text), "username": user, "password": password, "action": "signin"},
    )


def login_code(
    dev: DevServer,
    app: str = "native",
    *,
    scope: str = SCOPES,
    user: str = ADA,
    password: str = ADA_PASSWORD,
    base: str = DEFAULT,
    pkce_on: bool | None = None,
    **extra: str,
) -> tuple[str, str | None, dict[str, str]]:
    """A browser login: (code, verifier, the redirect's query). Does not fetch the redirect URI."""
    use_pkce = dev.app(app).is_public if pkce_on is None else pkce_on
    verifier, challenge = pkce() if use_pkce else (None, None)
    params = authorize_params(dev, app, scope=scope, challenge=challenge, **extra)
    with client(dev) as browser:
        response = sign_in(browser, params, user=user, password=password, base=base)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(params["redirect_uri"] + "?")
    query = query_of(location)
    return query["code"], verifier, query


def exchange(
    http: httpx.Client,
    dev: DevServer,
    app: str,
    code: str,
    verifier: str | None,
    base: str = DEFAULT,
) -> httpx.Response:
    redirect_uri = redirect_uri_for(dev, app)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    return token(http, dev, app, data, base)


def code_flow(
    http: httpx.Client, dev: DevServer, app: str = "native", base: str = DEFAULT, **login: Any
) -> dict[str, Any]:
    """Log in through the browser form and exchange the code: the token response body."""
    code, verifier, _ = login_code(dev, app, base=base, **login)
    response = exchange(http, dev, app, code, verifier, base)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def push(
    http: httpx.Client, dev: DevServer, app: str, params: dict[str, str], base: str = DEFAULT
) -> httpx.Response:
    """POST an authorization request to ``/v1/par`` as ``app`` (RFC 9126 §2.1)."""
    return post(http, dev, app, f"{base}/par", params)


def pushed_query(dev: DevServer, app: str, request_uri: str) -> dict[str, str]:
    """What a client opens after a push: only ``client_id`` and ``request_uri`` (RFC 9126 §4)."""
    return {"client_id": dev.app(app).client_id, "request_uri": request_uri}


def jwks(http: httpx.Client, base: str = DEFAULT) -> jwt.PyJWKSet:
    response = http.get(f"{base}/keys")
    assert response.status_code == 200
    return jwt.PyJWKSet.from_dict(response.json())


def verify(
    token_value: str, keys: jwt.PyJWKSet, *, audience: str, issuer: str, **options: Any
) -> dict[str, Any]:
    """Verify an RS256 JWT against the published JWKS, as a resource server would."""
    kid = jwt.get_unverified_header(token_value)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims: dict[str, Any] = jwt.decode(
        token_value,
        key.key,
        algorithms=["RS256"],
        audience=audience,
        issuer=issuer,
        options=options or None,
    )
    return claims


def api(http: httpx.Client, path: str, access_token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    return http.get(f"/api/{path}", headers=headers)


def device_start(
    http: httpx.Client,
    dev: DevServer,
    scope: str = SCOPES,
    app: str = "native",
    base: str = DEFAULT,
) -> dict[str, Any]:
    response = post(http, dev, app, f"{base}/device/authorize", {"scope": scope})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def device_poll(
    http: httpx.Client, dev: DevServer, device_code: str, app: str = "native", base: str = DEFAULT
) -> httpx.Response:
    return token(http, dev, app, {"grant_type": DEVICE_GRANT, "device_code": device_code}, base)


def oauth_events(dev: DevServer) -> list[Event]:
    """The event log without discovery and key-set fetches: the OAuth calls a test counts."""
    return [e for e in dev.events if e.endpoint not in ("discovery", "keys")]
