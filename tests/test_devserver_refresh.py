"""Okta's refresh-token rules: gates, STATIC, ROTATE, grace, reuse detection, idle window (§4)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from devserver_helpers import (
    ADA,
    B64URL_43,
    DEFAULT,
    INVALID_SCOPE,
    ORG,
    RT_INVALID,
    api,
    assert_error,
    client,
    code_flow,
    jwks,
    post,
    refresh,
    verify,
)

from okta_nb_auth.devserver import DevServer


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


@pytest.fixture
def fresh(fresh_dev: DevServer) -> Iterator[tuple[DevServer, httpx.Client]]:
    with client(fresh_dev) as c:
        yield fresh_dev, c


def _rotate(dev: DevServer, grace: int, app: str = "native") -> None:
    dev.configure_app(app, rotation="ROTATE", grace_period=grace)


def _introspect(http: httpx.Client, dev: DevServer, app: str, value: str) -> dict[str, object]:
    response = post(http, dev, app, f"{DEFAULT}/introspect", {"token": value})
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


# -- the three gates ------------------------------------------------------------------------


def test_refresh_token_needs_offline_access(dev: DevServer, http: httpx.Client) -> None:
    body = code_flow(http, dev, "native", scope="openid profile")
    assert "refresh_token" not in body
    assert body["scope"] == "openid profile"


def test_refresh_token_needs_the_app_grant(dev: DevServer, http: httpx.Client) -> None:
    body = code_flow(http, dev, "no-refresh")
    assert body["scope"] == "openid profile email offline_access"
    assert "refresh_token" not in body  # silently omitted, as Okta does
    assert "access_token" in body and "id_token" in body


def test_refresh_on_app_without_the_grant_is_unauthorized_client(
    dev: DevServer, http: httpx.Client
) -> None:
    someone_elses = dev.login_as(ADA, "web").refresh_token
    assert someone_elses is not None
    assert_error(
        refresh(http, dev, "no-refresh", someone_elses),
        400,
        "unauthorized_client",
        "The client is not authorized to use the provided grant type. "
        "Configured grant types: [authorization_code].",
    )


# -- STATIC ---------------------------------------------------------------------------------


def test_static_echoes_the_same_refresh_token(dev: DevServer, http: httpx.Client) -> None:
    first = code_flow(http, dev, "web")
    rt = first["refresh_token"]
    assert B64URL_43.match(rt)
    seen = {first["access_token"]}
    for _ in range(3):
        response = refresh(http, dev, "web", rt)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["refresh_token"] == rt
        assert body["access_token"] not in seen
        seen.add(body["access_token"])
        assert body["scope"] == "openid profile email offline_access"
        assert body["expires_in"] == 3600
    for access in seen:  # STATIC refreshes revoke nothing
        assert api(http, "whoami", access).status_code == 200


def test_static_can_omit_the_refresh_token(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.configure_app("web", static_returns_refresh_token=False)
    rt = dev.login_as(ADA, "web").refresh_token
    assert rt is not None
    body = refresh(http, dev, "web", rt).json()
    assert "refresh_token" not in body
    assert refresh(http, dev, "web", rt).status_code == 200  # the old one keeps working


# -- ROTATE ---------------------------------------------------------------------------------


def test_rotate_with_default_grace_through_a_real_login(
    fresh: tuple[DevServer, httpx.Client],
) -> None:
    dev, http = fresh
    dev.configure_app("native", rotation="ROTATE")
    assert dev.app("native").grace_period == 30
    rt1 = code_flow(http, dev, "native")["refresh_token"]
    second = refresh(http, dev, "native", rt1).json()
    rt2 = second["refresh_token"]
    assert rt2 != rt1 and B64URL_43.match(rt2)
    dev.advance_clock(29)
    # Inside the grace period the rotated-out token still works and yields a fresh successor.
    again = refresh(http, dev, "native", rt1)
    assert again.status_code == 200, again.text
    rt3 = again.json()["refresh_token"]
    assert rt3 not in (rt1, rt2)
    assert refresh(http, dev, "native", rt2).status_code == 200
    assert api(http, "whoami", second["access_token"]).status_code == 200


def test_reuse_after_grace_revokes_the_whole_family(
    fresh: tuple[DevServer, httpx.Client],
) -> None:
    dev, http = fresh
    _rotate(dev, 30)
    rt1 = dev.login_as(ADA, "native").refresh_token
    assert rt1 is not None
    step = refresh(http, dev, "native", rt1).json()
    rt2, at2 = step["refresh_token"], step["access_token"]
    dev.advance_clock(20)
    newest = refresh(http, dev, "native", rt2).json()
    rt3, at3 = newest["refresh_token"], newest["access_token"]
    assert api(http, "whoami", at3).status_code == 200
    dev.advance_clock(11)  # rt1 rotated 31 s ago: past the 30 s grace period
    assert_error(refresh(http, dev, "native", rt1), 400, "invalid_grant", RT_INVALID)
    # The newest refresh token and every access token of the family are dead too.
    assert_error(refresh(http, dev, "native", rt3), 400, "invalid_grant", RT_INVALID)
    for access in (at2, at3):
        assert api(http, "whoami", access).status_code == 401
    assert _introspect(http, dev, "native", rt3) == {"active": False}
    assert _introspect(http, dev, "native", at3) == {"active": False}
    details = [e.detail for e in dev.events if e.grant_type == "refresh_token"]
    assert details.count("reuse_detected_family_revoked") == 1


def test_rotate_with_grace_zero(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    _rotate(dev, 0)
    rt1 = dev.login_as(ADA, "native").refresh_token
    assert rt1 is not None
    step = refresh(http, dev, "native", rt1).json()
    dev.advance_clock(1)
    assert_error(refresh(http, dev, "native", rt1), 400, "invalid_grant", RT_INVALID)
    assert_error(
        refresh(http, dev, "native", step["refresh_token"]), 400, "invalid_grant", RT_INVALID
    )
    assert api(http, "whoami", step["access_token"]).status_code == 401


def test_reuse_inside_grace_keeps_the_family(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    _rotate(dev, 10)
    rt1 = dev.login_as(ADA, "native").refresh_token
    assert rt1 is not None
    rt2 = refresh(http, dev, "native", rt1).json()["refresh_token"]
    dev.advance_clock(9)
    assert refresh(http, dev, "native", rt1).status_code == 200
    assert _introspect(http, dev, "native", rt2)["active"] is True


def test_rotated_token_inherits_the_absolute_expiry(
    fresh: tuple[DevServer, httpx.Client],
) -> None:
    dev, http = fresh
    dev.configure_app("native", rotation="ROTATE", refresh_token_ttl=1000)
    rt1 = dev.login_as(ADA, "native").refresh_token
    assert rt1 is not None
    exp1 = _introspect(http, dev, "native", rt1)["exp"]
    dev.advance_clock(500)
    rt2 = refresh(http, dev, "native", rt1).json()["refresh_token"]
    assert _introspect(http, dev, "native", rt2)["exp"] == exp1
    dev.advance_clock(501)  # 1001 s after login; rt2 itself is only 501 s old
    assert_error(refresh(http, dev, "native", rt2), 400, "invalid_grant", RT_INVALID)


# -- idle window ----------------------------------------------------------------------------


def test_idle_window_restarts_on_use_then_expires(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    dev.configure_app("web", refresh_token_idle=600)
    rt = dev.login_as(ADA, "web").refresh_token
    assert rt is not None
    dev.advance_clock(590)
    assert refresh(http, dev, "web", rt).status_code == 200
    dev.advance_clock(590)  # 1180 s after login, but only 590 s since the last use
    assert refresh(http, dev, "web", rt).status_code == 200
    dev.advance_clock(601)
    assert_error(refresh(http, dev, "web", rt), 400, "invalid_grant", RT_INVALID)
    assert dev.events[-1].detail == "idle_expired"


def test_default_idle_window_is_seven_days(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    rt = dev.login_as(ADA, "web").refresh_token
    assert rt is not None
    dev.advance_clock(7 * 24 * 3600 - 60)
    assert refresh(http, dev, "web", rt).status_code == 200
    dev.advance_clock(7 * 24 * 3600)
    assert_error(refresh(http, dev, "web", rt), 400, "invalid_grant", RT_INVALID)


# -- invalid_grant --------------------------------------------------------------------------


def test_unknown_refresh_token(dev: DevServer, http: httpx.Client) -> None:
    assert_error(refresh(http, dev, "web", "x" * 43), 400, "invalid_grant", RT_INVALID)


def test_refresh_token_of_another_client(dev: DevServer, http: httpx.Client) -> None:
    rt = dev.login_as(ADA, "native").refresh_token
    assert rt is not None
    assert_error(refresh(http, dev, "web", rt), 400, "invalid_grant", RT_INVALID)
    assert refresh(http, dev, "native", rt).status_code == 200


def test_refresh_token_at_another_authorization_server(dev: DevServer, http: httpx.Client) -> None:
    rt = dev.login_as(ADA, "web").refresh_token
    assert rt is not None
    assert_error(refresh(http, dev, "web", rt, base=ORG), 400, "invalid_grant", RT_INVALID)


def test_missing_refresh_token_parameter(dev: DevServer, http: httpx.Client) -> None:
    response = post(http, dev, "web", f"{DEFAULT}/token", {"grant_type": "refresh_token"})
    assert_error(
        response, 400, "invalid_request", "The required parameter 'refresh_token' is missing."
    )


# -- scopes and the ID token ----------------------------------------------------------------


def test_id_token_on_refresh_only_with_openid(dev: DevServer, http: httpx.Client) -> None:
    with_openid = dev.login_as(ADA, "web", "openid email offline_access").refresh_token
    without = dev.login_as(ADA, "web", "email offline_access").refresh_token
    assert with_openid is not None and without is not None
    assert "id_token" in refresh(http, dev, "web", with_openid).json()
    assert "id_token" not in refresh(http, dev, "web", without).json()
    scoped_down = refresh(http, dev, "web", with_openid, scope="email offline_access").json()
    assert "id_token" not in scoped_down


def test_scope_down(dev: DevServer, http: httpx.Client) -> None:
    rt = dev.login_as(ADA, "web", "openid profile email offline_access").refresh_token
    assert rt is not None
    body = refresh(http, dev, "web", rt, scope="openid offline_access").json()
    assert body["scope"] == "openid offline_access"
    claims = verify(body["access_token"], jwks(http), audience="api://default", issuer=dev.issuer)
    assert claims["scp"] == ["openid", "offline_access"]
    # Scoping down does not shrink the grant: the original scopes can be asked for again.
    again = refresh(http, dev, "web", rt, scope="openid profile email offline_access").json()
    assert again["scope"] == "openid profile email offline_access"
    # Omitting scope keeps the original grant's scopes.
    assert refresh(http, dev, "web", rt).json()["scope"] == "openid profile email offline_access"


@pytest.mark.parametrize("scope", ["openid offline_access demo.read", "phone", "bogus", ""])
def test_scope_up_or_bad_scope_is_refused(dev: DevServer, http: httpx.Client, scope: str) -> None:
    rt = dev.login_as(ADA, "web").refresh_token
    assert rt is not None
    assert_error(refresh(http, dev, "web", rt, scope=scope), 400, "invalid_scope", INVALID_SCOPE)


def test_scope_down_without_offline_access_returns_no_refresh_token(
    fresh: tuple[DevServer, httpx.Client],
) -> None:
    dev, http = fresh
    _rotate(dev, 0)
    rt = dev.login_as(ADA, "native").refresh_token
    assert rt is not None
    body = refresh(http, dev, "native", rt, scope="openid email").json()
    assert "refresh_token" not in body
    assert body["scope"] == "openid email"
    dev.advance_clock(5)
    # Not rotated out: the client still holds only this token, so it must keep working.
    assert refresh(http, dev, "native", rt).status_code == 200


def test_refreshed_id_token_follows_oidc_core_12_2(dev: DevServer, http: httpx.Client) -> None:
    first = code_flow(http, dev, "native", nonce="first-nonce")
    keys = jwks(http)
    cid = dev.app("native").client_id
    original = verify(first["id_token"], keys, audience=cid, issuer=dev.issuer)
    body = refresh(http, dev, "native", first["refresh_token"]).json()
    again = verify(body["id_token"], keys, audience=cid, issuer=dev.issuer)
    for claim in ("iss", "sub", "aud", "auth_time"):
        assert again[claim] == original[claim]
    assert again["jti"] != original["jti"]
    assert again.get("nonce") in (None, "first-nonce")
    access = verify(body["access_token"], keys, audience="api://default", issuer=dev.issuer)
    assert access["auth_time"] == original["auth_time"]


# -- the refresh race (spec §6 #4) ----------------------------------------------------------


def _race(dev: DevServer, app: str, rt: str, n: int = 8) -> list[httpx.Response]:
    def one(_: int) -> httpx.Response:
        with client(dev) as c:
            return refresh(c, dev, app, rt)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_parallel_refreshes_inside_the_grace_period_all_succeed(
    fresh: tuple[DevServer, httpx.Client],
) -> None:
    dev, http = fresh
    _rotate(dev, 30)
    rt = dev.login_as(ADA, "native").refresh_token
    assert rt is not None
    responses = _race(dev, "native", rt)
    assert [r.status_code for r in responses] == [200] * 8
    successors = {r.json()["refresh_token"] for r in responses}
    assert len(successors) == 8 and rt not in successors
    refreshes = [e for e in dev.events if e.grant_type == "refresh_token"]
    assert len(refreshes) == 8
    # Past the grace period, the loser that kept the old token triggers reuse detection.
    dev.advance_clock(31)
    assert_error(refresh(http, dev, "native", rt), 400, "invalid_grant", RT_INVALID)
    for successor in successors:
        assert_error(refresh(http, dev, "native", successor), 400, "invalid_grant", RT_INVALID)


def test_parallel_refreshes_under_static(dev: DevServer) -> None:
    rt = dev.login_as(ADA, "web").refresh_token
    assert rt is not None
    responses = _race(dev, "web", rt)
    assert [r.status_code for r in responses] == [200] * 8
    assert {r.json()["refresh_token"] for r in responses} == {rt}
    assert len({r.json()["access_token"] for r in responses}) == 8
