"""Discovery tells the truth: what a document advertises, the dev server serves (spec §1.2).

For every document of both servers: only Okta's field names; every endpoint answers; every
client-authentication method (``private_key_jwt`` too, by an app with a key pair made at
start), grant, response type and mode, scope and claim listed is used here successfully. Also:
no URL the server emits has a double slash, and token headers are Okta's ``{"kid", "alg"}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from devserver_helpers import (
    ADA,
    ADA_PASSWORD,
    DEFAULT,
    ORG,
    WEB_REDIRECT,
    assertion_fields,
    authorize_params,
    basic,
    client,
    code_flow,
    device_poll,
    device_start,
    exchange,
    login_code,
    pkce,
    sign_in,
    txn_of,
)

from okta_nb_auth.devserver import DevServer

DOCUMENTS = [
    (DEFAULT, "/oauth2/default/.well-known/openid-configuration"),
    (DEFAULT, "/oauth2/default/.well-known/oauth-authorization-server"),
    (DEFAULT, "/.well-known/oauth-authorization-server/oauth2/default"),
    (ORG, "/.well-known/openid-configuration"),
    (ORG, "/.well-known/oauth-authorization-server"),
]
# The field names of Okta's documents (spec §1.2, TRACE), and those the dev server cannot serve.
OKTA_FIELDS = set(
    """issuer authorization_endpoint token_endpoint userinfo_endpoint registration_endpoint
    jwks_uri response_types_supported response_modes_supported grant_types_supported
    subject_types_supported id_token_signing_alg_values_supported
    id_token_encryption_alg_values_supported id_token_encryption_enc_values_supported
    scopes_supported token_endpoint_auth_methods_supported claims_supported
    code_challenge_methods_supported introspection_endpoint
    introspection_endpoint_auth_methods_supported revocation_endpoint
    revocation_endpoint_auth_methods_supported end_session_endpoint request_parameter_supported
    request_object_signing_alg_values_supported device_authorization_endpoint
    pushed_authorization_request_endpoint backchannel_token_delivery_modes_supported
    backchannel_authentication_request_signing_alg_values_supported
    dpop_signing_alg_values_supported""".split()
)
NOT_SERVED = {
    "registration_endpoint",
    "request_parameter_supported",
    "request_object_signing_alg_values_supported",
    "id_token_encryption_alg_values_supported",
    "id_token_encryption_enc_values_supported",
    "backchannel_token_delivery_modes_supported",
    "backchannel_authentication_request_signing_alg_values_supported",
    "dpop_signing_alg_values_supported",
}
POSTED = {"token_endpoint", "introspection_endpoint", "revocation_endpoint"}
POSTED.add("device_authorization_endpoint")
POSTED.add("pushed_authorization_request_endpoint")
AUTH_LISTS = [
    "token_endpoint_auth_methods_supported",
    "introspection_endpoint_auth_methods_supported",
    "revocation_endpoint_auth_methods_supported",
]


#: A web app on private_key_jwt (no jwks: the dev server makes the key pair), so that refresh,
#: introspection and revocation are tried with an advertised private_key_jwt too.
WEB_JWT = {
    "application_type": "web",
    "grant_types": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_method": "private_key_jwt",
    "redirect_uris": [WEB_REDIRECT],
}
APP_FOR = {"none": "native", "private_key_jwt": "web-jwt"}


@pytest.fixture(scope="module")
def dev() -> Iterator[DevServer]:
    """This module's server: the defaults plus ``web-jwt``."""
    with DevServer(port=0, config={"apps": {"web-jwt": WEB_JWT}}) as server:
        yield server


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


@pytest.fixture(params=DOCUMENTS, ids=lambda d: d[1])
def document(request: pytest.FixtureRequest, http: httpx.Client) -> tuple[str, dict[str, Any]]:
    base, path = request.param
    response = http.get(path)
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return base, doc


def _credentials(
    dev: DevServer, app: str, method: str, url: str = ""
) -> tuple[dict[str, str], dict[str, str]]:
    """(form fields, headers) that authenticate ``app`` by ``method`` at ``url``."""
    settings = dev.app(app)
    if method == "none":
        return {"client_id": settings.client_id}, {}
    if method == "private_key_jwt":  # an assertion names the endpoint it is sent to
        return assertion_fields(dev, app, url), {}
    assert settings.client_secret is not None
    if method == "client_secret_post":
        return {"client_id": settings.client_id, "client_secret": settings.client_secret}, {}
    assert method == "client_secret_basic", f"no test for {method}: add one"
    return {}, {"Authorization": basic(settings.client_id, settings.client_secret)}


def test_only_okta_fields_and_nothing_unserved(document: tuple[str, dict[str, Any]]) -> None:
    _, doc = document
    assert set(doc) <= OKTA_FIELDS
    assert not set(doc) & NOT_SERVED
    assert "okta_post_message" not in doc["response_modes_supported"]
    assert "device_sso" not in doc["scopes_supported"]  # Okta's needs a device_secret


def test_every_advertised_endpoint_answers(
    http: httpx.Client, document: tuple[str, dict[str, Any]]
) -> None:
    _, doc = document
    urls = {k: v for k, v in doc.items() if k.endswith("_endpoint") or k == "jwks_uri"}
    assert "token_endpoint" in urls and "jwks_uri" in urls
    for name, url in urls.items():
        response = http.request("POST" if name in POSTED else "GET", url)
        assert response.status_code not in (404, 405), (name, response.status_code)


def test_the_advertised_par_endpoint_feeds_the_advertised_authorize_endpoint(
    dev: DevServer, http: httpx.Client, document: tuple[str, dict[str, Any]]
) -> None:
    # RFC 9126: push to pushed_authorization_request_endpoint, then open only client_id and
    # request_uri at authorization_endpoint; the code works at token_endpoint.
    _, doc = document
    beside_token = doc["token_endpoint"].removesuffix("/token") + "/par"
    assert doc["pushed_authorization_request_endpoint"] == beside_token  # Okta's /v1/par
    assert "require_pushed_authorization_requests" not in doc  # Okta's documents lack it
    verifier, challenge = pkce()
    fields, headers = _credentials(dev, "native", "none")
    params = authorize_params(dev, "native", challenge=challenge)
    pushed = http.post(doc["pushed_authorization_request_endpoint"], data=params, headers=headers)
    assert pushed.status_code == 201, pushed.text
    query = {**fields, "request_uri": pushed.json()["request_uri"]}
    with client(dev) as browser:
        page = browser.get(doc["authorization_endpoint"], params=query)
        form = {"txn": txn_of(page.text), "username": ADA, "password": ADA_PASSWORD}
        signed = browser.post(doc["authorization_endpoint"], params=query, data=form)
    code = _code_from(signed, "query")
    data = {**fields, "grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    data["redirect_uri"] = params["redirect_uri"]
    assert http.post(doc["token_endpoint"], data=data).status_code == 200


def test_every_advertised_auth_method_works(
    dev: DevServer, http: httpx.Client, document: tuple[str, dict[str, Any]]
) -> None:
    base, doc = document
    methods = {method for name in AUTH_LISTS for method in doc[name]}
    assert methods == set(doc["token_endpoint_auth_methods_supported"])
    assert "private_key_jwt" in methods
    for method in methods:
        app = APP_FOR.get(method, "web")

        def call(
            name: str, data: dict[str, str], app: str = app, how: str = method
        ) -> httpx.Response:
            url = doc[name]  # the advertised URL, which an assertion must name
            fields, headers = _credentials(dev, app, how, url)
            return http.post(url, data={**fields, **data}, headers=headers)

        tokens = dev.login_as(ADA, app, org=base == ORG)
        assert tokens.refresh_token is not None
        data = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        refreshed = call("token_endpoint", data)
        assert refreshed.status_code == 200, (method, refreshed.status_code)
        check = {"token": refreshed.json()["access_token"]}
        introspected = call("introspection_endpoint", check)
        assert introspected.status_code == 200 and introspected.json()["active"] is True, method
        assert call("revocation_endpoint", check).status_code == 200, method


def test_every_advertised_grant_works(
    dev: DevServer, http: httpx.Client, document: tuple[str, dict[str, Any]]
) -> None:
    base, doc = document
    for grant in doc["grant_types_supported"]:
        if grant == "authorization_code":
            body = code_flow(http, dev, "native", base=base)
        elif grant == "refresh_token":
            refresh_token = dev.login_as(ADA, "web", org=base == ORG).refresh_token
            assert refresh_token is not None
            fields, headers = _credentials(dev, "web", "client_secret_basic")
            data = {**fields, "grant_type": grant, "refresh_token": refresh_token}
            body = http.post(f"{base}/token", data=data, headers=headers).json()
        elif grant == "urn:ietf:params:oauth:grant-type:device_code":
            start = device_start(http, dev, base=base)
            dev.approve_device(start["user_code"], ADA)
            body = device_poll(http, dev, start["device_code"], base=base).json()
        else:
            assert grant == "client_credentials", f"no test for {grant}: add one"
            fields, headers = _credentials(dev, "service", "client_secret_basic")
            data = {**fields, "grant_type": grant, "scope": "demo.read"}
            body = http.post(f"{base}/token", data=data, headers=headers).json()
        assert "access_token" in body, (grant, body.get("error"))


def _code_from(response: httpx.Response, mode: str) -> str:
    if mode == "form_post":
        assert response.status_code == 200
        match = re.search(r'name="code" value="([^"]+)"', response.text)
        assert match, "no code field in the form_post page"
        return match.group(1)
    assert response.status_code == 302
    location = response.headers["location"]
    match = re.search(("#" if mode == "fragment" else r"\?") + r"code=([^&]+)", location)
    assert match, location
    return match.group(1)


def test_every_advertised_response_type_and_mode_works(
    dev: DevServer, http: httpx.Client, document: tuple[str, dict[str, Any]]
) -> None:
    base, doc = document
    assert doc["response_types_supported"] == ["code"]  # the code flow is the one served
    assert doc["code_challenge_methods_supported"] == ["S256"]
    for mode in doc["response_modes_supported"]:
        verifier, challenge = pkce()
        params = authorize_params(dev, "native", challenge=challenge, response_mode=mode)
        with client(dev) as browser:
            code = _code_from(sign_in(browser, params, base=base), mode)
        response = exchange(http, dev, "native", code, verifier, base)
        assert response.status_code == 200, (mode, response.json().get("error"))


def test_every_advertised_scope_is_accepted(
    dev: DevServer, http: httpx.Client, document: tuple[str, dict[str, Any]]
) -> None:
    base, doc = document
    for scope in doc["scopes_supported"]:
        started = device_start(http, dev, scope=scope, base=base)
        assert "device_code" in started, scope


def test_the_org_servers_groups_scope_gives_groups(dev: DevServer, http: httpx.Client) -> None:
    scope = "openid profile groups"
    body = code_flow(http, dev, "native", base=ORG, scope=scope)
    assert body["scope"] == scope
    info = http.get(f"{ORG}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200
    assert info.json()["groups"] == ["Everyone"]


def test_every_advertised_claim_is_issued(
    dev: DevServer, http: httpx.Client, document: tuple[str, dict[str, Any]]
) -> None:
    base, doc = document
    code, verifier, _ = login_code(dev, "native", base=base, nonce="n0nce")
    body = exchange(http, dev, "native", code, verifier, base).json()
    if "userinfo_endpoint" in doc:  # the OIDC document lists ID-token and userinfo claims
        claims = jwt.decode(body["id_token"], options={"verify_signature": False})
        bearer = {"Authorization": f"Bearer {body['access_token']}"}
        claims.update(http.get(doc["userinfo_endpoint"], headers=bearer).json())
    else:  # the OAuth document lists access-token claims
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert set(doc["claims_supported"]) <= set(claims)
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["subject_types_supported"] == ["public"]


@pytest.mark.parametrize("base", [DEFAULT, ORG])
def test_token_headers_are_okta_kid_and_alg_only(
    dev: DevServer, http: httpx.Client, base: str
) -> None:
    body = code_flow(http, dev, "native", base=base)
    for name in ("access_token", "id_token"):
        header = jwt.get_unverified_header(body[name])
        assert set(header) == {"kid", "alg"}, name  # no "typ": "JWT"
        assert header["alg"] == "RS256"


def _urls(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value.startswith("http"):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _urls(item)


def test_nothing_the_server_emits_has_a_double_slash(dev: DevServer, http: httpx.Client) -> None:
    emitted = [dev.issuer, dev.org_issuer, dev.base_url, dev.config("web").issuer]
    for _, path in DOCUMENTS:
        emitted += _urls(http.get(path).json())
    for base in (DEFAULT, ORG):
        emitted += _urls(device_start(http, dev, base=base))
    assert len(emitted) > 30
    for url in emitted:
        assert "//" not in url.split("://", 1)[1], url
        assert not url.endswith("/"), url


def test_an_issuer_with_a_trailing_slash_finds_no_discovery(dev: DevServer) -> None:
    # `${issuer}/.well-known/...` with a trailing-slash issuer: "//.well-known". The dev server
    # does not merge the slashes (Okta's answer is unconfirmed; README, "Fidelity").
    for issuer in (dev.issuer, dev.org_issuer):
        url = issuer + "/" + "/.well-known/openid-configuration"
        response = httpx.get(url, timeout=10)
        assert b"//.well-known" in response.request.url.raw_path
        assert response.status_code == 404


def test_a_public_url_with_a_trailing_slash_gives_issuers_without_one() -> None:
    with DevServer(port=0, public_url="http://127.0.0.1:9/") as dev:
        assert dev.issuer == "http://127.0.0.1:9/oauth2/default"
        assert dev.org_issuer == "http://127.0.0.1:9"
