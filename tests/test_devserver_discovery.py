"""Discovery documents, JWKS and the unknown-server 404 (spec §1.1, §1.2, §2.5)."""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import httpx
import pytest
from devserver_helpers import B64URL_43, DEFAULT, ORG, client

from okta_nb_auth.devserver import DevServer

# Okta also lists client_secret_jwt, which the dev server does not verify.
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def test_addresses_are_loopback_and_issuers_have_no_trailing_slash(dev: DevServer) -> None:
    assert dev.base_url == f"http://127.0.0.1:{dev.port}"
    assert dev.issuer == f"{dev.base_url}/oauth2/default"
    assert dev.org_issuer == dev.base_url


def test_custom_server_openid_configuration(dev: DevServer, http: httpx.Client) -> None:
    response = http.get("/oauth2/default/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "max-age=86400, must-revalidate"
    assert "x-rate-limit-limit" not in response.headers  # discovery is not rate-limited
    doc = response.json()
    issuer = dev.issuer
    assert list(doc)[:4] == [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
    ]
    assert doc["issuer"] == issuer
    for name, path in [
        ("authorization_endpoint", "authorize"),
        ("token_endpoint", "token"),
        ("userinfo_endpoint", "userinfo"),
        ("jwks_uri", "keys"),
        ("introspection_endpoint", "introspect"),
        ("revocation_endpoint", "revoke"),
        ("end_session_endpoint", "logout"),
        ("device_authorization_endpoint", "device/authorize"),
    ]:
        assert doc[name] == f"{issuer}/v1/{path}"
    assert "registration_endpoint" not in doc  # Okta's answers; the dev server's would 404
    assert "client_credentials" not in doc["grant_types_supported"]
    assert {"authorization_code", "refresh_token"} <= set(doc["grant_types_supported"])
    assert "urn:ietf:params:oauth:grant-type:device_code" in doc["grant_types_supported"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["subject_types_supported"] == ["public"]
    assert "token" not in doc["response_types_supported"]
    assert "code" in doc["response_types_supported"]
    assert doc["token_endpoint_auth_methods_supported"] == AUTH_METHODS
    assert doc["introspection_endpoint_auth_methods_supported"] == AUTH_METHODS
    assert doc["revocation_endpoint_auth_methods_supported"] == AUTH_METHODS
    assert {"openid", "profile", "email", "offline_access", "demo.read"} <= set(
        doc["scopes_supported"]
    )
    assert {"nonce", "at_hash", "auth_time", "amr", "idp"} <= set(doc["claims_supported"])
    assert "request_parameter_supported" not in doc  # no request objects


@pytest.mark.parametrize(
    "path",
    [
        "/oauth2/default/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/oauth2/default",
    ],
)
def test_custom_server_oauth_metadata_at_both_paths(
    dev: DevServer, http: httpx.Client, path: str
) -> None:
    response = http.get(path)
    assert response.status_code == 200
    doc = response.json()
    assert doc["issuer"] == dev.issuer
    assert "client_credentials" in doc["grant_types_supported"]
    assert "userinfo_endpoint" not in doc
    assert doc["claims_supported"] == "ver jti iss aud iat exp cid uid scp sub".split()
    assert doc["token_endpoint"] == f"{dev.issuer}/v1/token"


@pytest.mark.parametrize("name", ["openid-configuration", "oauth-authorization-server"])
def test_org_server_discovery(dev: DevServer, http: httpx.Client, name: str) -> None:
    doc = http.get(f"/.well-known/{name}").json()
    assert doc["issuer"] == dev.base_url
    assert doc["token_endpoint"] == f"{dev.base_url}/oauth2/v1/token"
    assert doc["jwks_uri"] == f"{dev.base_url}/oauth2/v1/keys"
    assert doc["device_authorization_endpoint"] == f"{dev.base_url}/oauth2/v1/device/authorize"
    assert "groups" in doc["scopes_supported"]
    assert "demo.read" not in doc["scopes_supported"]
    assert "client_credentials" not in doc["grant_types_supported"]


@pytest.mark.parametrize("base", [DEFAULT, ORG])
def test_every_advertised_endpoint_exists(http: httpx.Client, base: str) -> None:
    discovery = (
        "/oauth2/default/.well-known/openid-configuration"
        if base == DEFAULT
        else "/.well-known/openid-configuration"
    )
    doc = http.get(discovery).json()
    assert http.get(doc["jwks_uri"]).status_code == 200
    for name in (
        "token_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "device_authorization_endpoint",
    ):
        # No credentials: Okta's 401, which proves the route exists and authenticates first.
        response = http.post(doc[name], data={"token": "x"})
        assert response.status_code == 401, name
        assert response.json()["error"] == "invalid_client"
    assert http.get(doc["userinfo_endpoint"]).status_code == 401
    assert http.get(doc["authorization_endpoint"]).status_code == 400  # HTML error: no client
    assert http.get(doc["end_session_endpoint"]).status_code == 400  # HTML error: no hint


@pytest.mark.parametrize("base", [DEFAULT, ORG])
def test_jwks_shape_and_headers(http: httpx.Client, base: str) -> None:
    response = http.get(f"{base}/keys")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "max-age=3888000, must-revalidate"  # 45 days
    # Okta adds Expires (spec §1.2): max-age after the response's Date.
    date = parsedate_to_datetime(response.headers["date"])
    expires = parsedate_to_datetime(response.headers["expires"])
    assert (expires - date).total_seconds() == pytest.approx(3_888_000, abs=2)
    assert "x-rate-limit-limit" not in response.headers
    keys = response.json()["keys"]
    assert 1 <= len(keys) <= 3
    assert len({key["kid"] for key in keys}) == len(keys)
    for key in keys:
        assert set(key) == {"kty", "alg", "kid", "use", "e", "n"}
        assert (key["kty"], key["alg"], key["use"], key["e"]) == ("RSA", "RS256", "sig", "AQAB")
        assert B64URL_43.match(key["kid"])


def test_org_and_custom_servers_have_different_keys(http: httpx.Client) -> None:
    org = {key["kid"] for key in http.get(f"{ORG}/keys").json()["keys"]}
    custom = {key["kid"] for key in http.get(f"{DEFAULT}/keys").json()["keys"]}
    assert not org & custom


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/oauth2/aus0nope/.well-known/openid-configuration"),
        ("GET", "/.well-known/oauth-authorization-server/oauth2/aus0nope"),
        ("GET", "/oauth2/aus0nope/v1/keys"),
        ("POST", "/oauth2/aus0nope/v1/token"),
        ("GET", "/oauth2/aus0nope/v1/userinfo"),
        ("GET", "/oauth2/aus0nope/v1/authorize"),
        ("GET", "/oauth2/aus0nope/v1/logout"),
    ],
)
def test_unknown_authorization_server_is_okta_404(
    http: httpx.Client, method: str, path: str
) -> None:
    response = http.request(method, path)
    assert response.status_code == 404
    body = response.json()
    assert body["errorCode"] == "E0000007"
    assert body["errorSummary"] == "Not found: Resource not found: aus0nope (AuthorizationServer)"
    assert body["errorLink"] == "E0000007"
    assert body["errorCauses"] == []
    assert "errorId" in body


def test_index_page_lists_apps_and_users(dev: DevServer, http: httpx.Client) -> None:
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for name in ("native", "web", "service", "no-refresh"):
        assert dev.app(name).client_id in page.text
    assert "ada@example.com" in page.text
    assert dev.app("web").client_secret not in page.text
