"""client_credentials for the service app on the custom server (spec §2.2)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from devserver_helpers import (
    INVALID_SCOPE,
    ORG,
    api,
    assert_error,
    client,
    jwks,
    token,
    verify,
)

from okta_nb_auth.devserver import DevServer


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def _cc(http: httpx.Client, dev: DevServer, scope: str | None, **kw: str) -> httpx.Response:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return token(http, dev, kw.get("app", "service"), data, kw.get("base", "/oauth2/default/v1"))


def test_service_app_gets_an_access_token_only(dev: DevServer, http: httpx.Client) -> None:
    response = _cc(http, dev, "demo.read")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token_type", "expires_in", "access_token", "scope"}
    assert body["scope"] == "demo.read"
    claims = verify(body["access_token"], jwks(http), audience="api://default", issuer=dev.issuer)
    cid = dev.app("service").client_id
    assert claims["cid"] == cid
    assert claims["sub"] == cid
    assert claims["scp"] == ["demo.read"]
    assert "uid" not in claims and "auth_time" not in claims
    assert claims["jti"].startswith("AT.")
    assert api(http, "reports", body["access_token"]).status_code == 200


def test_several_custom_scopes(dev: DevServer, http: httpx.Client) -> None:
    body = _cc(http, dev, "demo.read demo.write").json()
    assert body["scope"] == "demo.read demo.write"


@pytest.mark.parametrize("scope", ["openid", "openid demo.read"])
def test_openid_is_refused(dev: DevServer, http: httpx.Client, scope: str) -> None:
    assert_error(
        _cc(http, dev, scope),
        400,
        "invalid_scope",
        "Cannot request 'openid' scopes using client credentials.",
    )


@pytest.mark.parametrize("scope", [None, ""])
def test_no_scope_and_no_default_scope(
    dev: DevServer, http: httpx.Client, scope: str | None
) -> None:
    assert_error(
        _cc(http, dev, scope),
        400,
        "invalid_scope",
        "The authorization server resource does not have any configured default scopes, "
        "'scope' must be provided.",
    )


def test_default_scopes_apply_without_a_scope(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("service", default_scopes=["demo.read"])
    with client(fresh_dev) as http:
        body = _cc(http, fresh_dev, None).json()
    assert body["scope"] == "demo.read"


@pytest.mark.parametrize("scope", ["demo.admin", "profile", "demo.read offline_access"])
def test_unknown_or_non_custom_scope(dev: DevServer, http: httpx.Client, scope: str) -> None:
    assert_error(_cc(http, dev, scope), 400, "invalid_scope", INVALID_SCOPE)


def test_org_server_refuses_client_credentials(dev: DevServer, http: httpx.Client) -> None:
    assert_error(
        _cc(http, dev, "demo.read", base=ORG),
        400,
        "unsupported_grant_type",
        "'client_credentials' grant type can only be used with a custom authorization server.",
    )


def test_app_without_the_grant(dev: DevServer, http: httpx.Client) -> None:
    assert_error(
        _cc(http, dev, "demo.read", app="native"),
        400,
        "unauthorized_client",
        "The client is not authorized to use the provided grant type. Configured grant types: "
        "[authorization_code, refresh_token, urn:ietf:params:oauth:grant-type:device_code].",
    )


def test_service_app_cannot_use_other_grants(dev: DevServer, http: httpx.Client) -> None:
    response = token(http, dev, "service", {"grant_type": "refresh_token", "refresh_token": "x"})
    assert_error(
        response,
        400,
        "unauthorized_client",
        "The client is not authorized to use the provided grant type. "
        "Configured grant types: [client_credentials].",
    )


def test_access_token_ttl_is_per_app(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("service", access_token_ttl=120)
    with client(fresh_dev) as http:
        body = _cc(http, fresh_dev, "demo.read").json()
        assert body["expires_in"] == 120
        claims = verify(
            body["access_token"], jwks(http), audience="api://default", issuer=fresh_dev.issuer
        )
        assert claims["exp"] - claims["iat"] == 120
        fresh_dev.advance_clock(121)
        assert api(http, "reports", body["access_token"]).status_code == 401
