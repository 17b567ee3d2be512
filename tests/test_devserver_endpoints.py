"""/v1/userinfo, /v1/introspect, /v1/revoke and /v1/logout (spec §2.6-§2.9)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from devserver_helpers import (
    ADA,
    DEFAULT,
    LOGOUT_REDIRECT,
    ORG,
    RT_INVALID,
    api,
    assert_error,
    authorize_params,
    client,
    code_flow,
    post,
    query_of,
    refresh,
    sign_in,
)

from okta_nb_auth.devserver import DevServer

INVALID_TOKEN = 'Bearer error="invalid_token", error_description="The access token is invalid"'
INSUFFICIENT = (
    'Bearer error="insufficient_scope", error_description="The access token must provide '
    'access to at least one of these scopes - profile, email, address or phone"'
)


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def _userinfo(http: httpx.Client, access: str | None, base: str = DEFAULT) -> httpx.Response:
    headers = {"Authorization": f"Bearer {access}"} if access is not None else {}
    return http.get(f"{base}/userinfo", headers=headers)


def _introspect(
    http: httpx.Client, dev: DevServer, app: str, value: str, **extra: str
) -> dict[str, Any]:
    response = post(http, dev, app, f"{DEFAULT}/introspect", {"token": value, **extra})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache, no-store"
    body: dict[str, Any] = response.json()
    return body


def _revoke(http: httpx.Client, dev: DevServer, app: str, value: str) -> httpx.Response:
    response = post(http, dev, app, f"{DEFAULT}/revoke", {"token": value})
    assert response.status_code == 200
    assert response.content == b""
    return response


# -- userinfo -------------------------------------------------------------------------------


def test_userinfo_full_profile(dev: DevServer, http: httpx.Client) -> None:
    tokens = dev.login_as(ADA, "native", "openid profile email")
    response = _userinfo(http, tokens.access_token)
    assert response.status_code == 200
    info = response.json()
    assert info["sub"].startswith("00u")
    assert info["email"] == ADA and info["email_verified"] is True
    assert info["name"] == "Ada Lovelace"
    assert info["given_name"] == "Ada" and info["family_name"] == "Lovelace"
    assert info["preferred_username"] == ADA


def test_userinfo_claims_follow_scopes(dev: DevServer, http: httpx.Client) -> None:
    tokens = dev.login_as(ADA, "native", "openid email")
    info = _userinfo(http, tokens.access_token).json()
    assert set(info) == {"sub", "email", "email_verified"}


def test_userinfo_post_is_accepted(dev: DevServer, http: httpx.Client) -> None:
    tokens = dev.login_as(ADA, "native", "openid email")
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    assert http.post(f"{DEFAULT}/userinfo", headers=headers).status_code == 200


def test_userinfo_without_a_token(http: httpx.Client) -> None:
    response = _userinfo(http, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("bad", ["not-a-jwt", "a.b.c"])
def test_userinfo_invalid_token(http: httpx.Client, bad: str) -> None:
    response = _userinfo(http, bad)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID_TOKEN


def test_userinfo_expired_token(fresh_dev: DevServer) -> None:
    tokens = fresh_dev.login_as(ADA, "native", "openid email")
    fresh_dev.advance_clock(3601)
    with client(fresh_dev) as http:
        response = _userinfo(http, tokens.access_token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID_TOKEN


def test_userinfo_token_of_another_server(dev: DevServer, http: httpx.Client) -> None:
    org_tokens = dev.login_as(ADA, "native", "openid email", org=True)
    assert _userinfo(http, org_tokens.access_token, ORG).status_code == 200
    response = _userinfo(http, org_tokens.access_token, DEFAULT)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == INVALID_TOKEN


@pytest.mark.parametrize("scopes", ["openid", "openid offline_access"])
def test_userinfo_insufficient_scope(dev: DevServer, http: httpx.Client, scopes: str) -> None:
    tokens = dev.login_as(ADA, "native", scopes)
    response = _userinfo(http, tokens.access_token)
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == INSUFFICIENT


def test_userinfo_with_a_client_credentials_token(dev: DevServer, http: httpx.Client) -> None:
    body = post(
        http,
        dev,
        "service",
        f"{DEFAULT}/token",
        {"grant_type": "client_credentials", "scope": "demo.read"},
    ).json()
    response = _userinfo(http, body["access_token"])
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == INSUFFICIENT


# -- introspect -----------------------------------------------------------------------------


def test_introspect_active_access_token(dev: DevServer, http: httpx.Client) -> None:
    tokens = dev.login_as(ADA, "web", "openid email offline_access")
    info = _introspect(http, dev, "web", tokens.access_token, token_type_hint="access_token")
    assert info["active"] is True
    assert info["token_type"] == "Bearer"
    assert info["scope"] == "openid email offline_access"
    assert info["client_id"] == dev.app("web").client_id
    assert info["username"] == ADA and info["sub"] == ADA
    assert info["aud"] == "api://default"
    assert info["iss"] == dev.issuer
    assert info["jti"].startswith("AT.")
    assert info["uid"].startswith("00u")
    assert info["exp"] - info["iat"] == 3600


def test_introspect_active_refresh_token(dev: DevServer, http: httpx.Client) -> None:
    tokens = dev.login_as(ADA, "web", "openid email offline_access")
    assert tokens.refresh_token is not None
    info = _introspect(http, dev, "web", tokens.refresh_token, token_type_hint="refresh_token")
    assert info["active"] is True
    assert info["client_id"] == dev.app("web").client_id
    assert info["username"] == ADA
    assert info["scope"] == "openid email offline_access"
    assert info["exp"] > dev.now()


@pytest.mark.parametrize("value", ["unknown-token", "x" * 43, "a.b.c"])
def test_introspect_unknown_token_is_inactive(
    dev: DevServer, http: httpx.Client, value: str
) -> None:
    assert _introspect(http, dev, "web", value) == {"active": False}


def test_introspect_token_of_another_client_is_inactive(dev: DevServer, http: httpx.Client) -> None:
    tokens = dev.login_as(ADA, "native")
    assert tokens.refresh_token is not None
    assert _introspect(http, dev, "web", tokens.access_token) == {"active": False}
    assert _introspect(http, dev, "web", tokens.refresh_token) == {"active": False}


def test_introspect_expired_access_token_is_inactive(fresh_dev: DevServer) -> None:
    tokens = fresh_dev.login_as(ADA, "web")
    fresh_dev.advance_clock(3601)
    with client(fresh_dev) as http:
        assert _introspect(http, fresh_dev, "web", tokens.access_token) == {"active": False}
        assert tokens.refresh_token is not None
        assert _introspect(http, fresh_dev, "web", tokens.refresh_token)["active"] is True


def test_introspect_public_client_with_client_id_in_the_body(
    dev: DevServer, http: httpx.Client
) -> None:
    tokens = dev.login_as(ADA, "native")
    assert _introspect(http, dev, "native", tokens.access_token)["active"] is True


# -- revoke ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["unknown-token", "x" * 43])
def test_revoke_unknown_token_is_200_empty(dev: DevServer, http: httpx.Client, value: str) -> None:
    _revoke(http, dev, "web", value)


def test_revoking_a_refresh_token_kills_its_access_tokens(
    dev: DevServer, http: httpx.Client
) -> None:
    tokens = dev.login_as(ADA, "web")
    assert tokens.refresh_token is not None
    second = refresh(http, dev, "web", tokens.refresh_token).json()["access_token"]
    assert api(http, "whoami", tokens.access_token).status_code == 200
    _revoke(http, dev, "web", tokens.refresh_token)
    assert_error(refresh(http, dev, "web", tokens.refresh_token), 400, "invalid_grant", RT_INVALID)
    for access in (tokens.access_token, second):
        assert api(http, "whoami", access).status_code == 401
        assert _introspect(http, dev, "web", access) == {"active": False}
    _revoke(http, dev, "web", tokens.refresh_token)  # again: still 200


def test_revoking_an_access_token_leaves_the_refresh_token(
    dev: DevServer, http: httpx.Client
) -> None:
    tokens = dev.login_as(ADA, "web")
    assert tokens.refresh_token is not None
    _revoke(http, dev, "web", tokens.access_token)
    assert api(http, "whoami", tokens.access_token).status_code == 401
    assert refresh(http, dev, "web", tokens.refresh_token).status_code == 200


def test_a_client_cannot_revoke_another_clients_tokens(dev: DevServer, http: httpx.Client) -> None:
    tokens = dev.login_as(ADA, "native")
    assert tokens.refresh_token is not None
    _revoke(http, dev, "web", tokens.refresh_token)
    _revoke(http, dev, "web", tokens.access_token)
    assert api(http, "whoami", tokens.access_token).status_code == 200
    assert refresh(http, dev, "native", tokens.refresh_token).status_code == 200


# -- logout ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def id_token(dev: DevServer) -> str:
    with client(dev) as c:
        token: str = code_flow(c, dev, "native")["id_token"]
    return token


def test_logout_redirects_with_state(dev: DevServer, http: httpx.Client, id_token: str) -> None:
    response = http.get(
        f"{DEFAULT}/logout",
        params={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": LOGOUT_REDIRECT,
            "state": "bye-123",
        },
    )
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(LOGOUT_REDIRECT + "?")
    assert query_of(location) == {"state": "bye-123"}


def test_logout_without_a_target_goes_to_the_server(
    dev: DevServer, http: httpx.Client, id_token: str
) -> None:
    response = http.get(f"{DEFAULT}/logout", params={"id_token_hint": id_token})
    assert response.status_code == 302
    assert response.headers["location"] == dev.base_url + "/"


def test_logout_ends_the_browser_session(dev: DevServer) -> None:
    with client(dev) as browser:
        signed_in = sign_in(browser, authorize_params(dev, "web"))
        assert signed_in.status_code == 302
        hint = dev.login_as(ADA, "web").id_token
        out = browser.get(f"{DEFAULT}/logout", params={"id_token_hint": hint})
        assert out.status_code == 302
        again = browser.get(f"{DEFAULT}/authorize", params=authorize_params(dev, "web"))
        assert again.status_code == 200  # the form again: no session any more


def test_logout_accepts_an_expired_id_token(fresh_dev: DevServer) -> None:
    hint = fresh_dev.login_as(ADA, "native").id_token
    fresh_dev.advance_clock(2 * 3600)
    with client(fresh_dev) as http:
        response = http.get(f"{DEFAULT}/logout", params={"id_token_hint": hint})
    assert response.status_code == 302


def test_logout_unregistered_post_logout_redirect_uri(
    dev: DevServer, http: httpx.Client, id_token: str
) -> None:
    response = http.get(
        f"{DEFAULT}/logout",
        params={"id_token_hint": id_token, "post_logout_redirect_uri": "https://evil.example/"},
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert (
        "The &#x27;post_logout_redirect_uri&#x27; parameter must be a Logout redirect URI in "
        "the client app settings." in response.text
    )


@pytest.mark.parametrize("hint", [None, "", "a.b.c"])
def test_logout_invalid_id_token_hint(http: httpx.Client, hint: str | None) -> None:
    params = {} if hint is None else {"id_token_hint": hint}
    response = http.get(f"{DEFAULT}/logout", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "id_token_hint" in response.text


def test_logout_with_an_id_token_of_another_server(
    dev: DevServer, http: httpx.Client, id_token: str
) -> None:
    response = http.get(f"{ORG}/logout", params={"id_token_hint": id_token})
    assert response.status_code == 400


def test_introspect_public_client_with_client_id_in_the_query(
    dev: DevServer, http: httpx.Client
) -> None:
    # Spec §2.7: Okta's docs say "as a query parameter"; their example posts it in the body.
    tokens = dev.login_as(ADA, "native")
    response = http.post(
        f"{DEFAULT}/introspect",
        params={"client_id": dev.app("native").client_id},
        data={"token": tokens.access_token},
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is True


def test_org_server_introspect_and_revoke(dev: DevServer, http: httpx.Client) -> None:
    tokens = dev.login_as(ADA, "web", org=True)
    assert tokens.refresh_token is not None
    at_org = post(http, dev, "web", f"{ORG}/introspect", {"token": tokens.access_token}).json()
    assert at_org["active"] is True and at_org["iss"] == dev.base_url
    assert at_org["aud"] == dev.base_url
    # Use the server that minted the token: the custom server does not know it.
    assert _introspect(http, dev, "web", tokens.access_token) == {"active": False}
    assert _introspect(http, dev, "web", tokens.refresh_token) == {"active": False}
    _revoke(http, dev, "web", tokens.refresh_token)  # wrong server: no effect
    assert refresh(http, dev, "web", tokens.refresh_token, base=ORG).status_code == 200
    revoked = post(http, dev, "web", f"{ORG}/revoke", {"token": tokens.refresh_token})
    assert revoked.status_code == 200 and revoked.content == b""
    assert_error(
        refresh(http, dev, "web", tokens.refresh_token, base=ORG), 400, "invalid_grant", RT_INVALID
    )
