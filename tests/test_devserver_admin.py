"""The /admin controls over HTTP (loopback, JSON), and that they match the Python controls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

import httpx
import jwt
import pytest
from devserver_helpers import (
    ADA,
    DEFAULT,
    GRACE,
    INVALID_SCOPE,
    JSON,
    RT_INVALID,
    api,
    assert_error,
    client,
    device_poll,
    device_start,
    jwks,
    post,
    refresh,
)

from okta_nb_auth.devserver import DevServer, SettingsError
from okta_nb_auth.devserver._app import build_app
from okta_nb_auth.devserver._authority import Authority
from okta_nb_auth.devserver._controls import Controls
from okta_nb_auth.devserver._settings import default_settings
from okta_nb_auth.devserver._state import Clock

ROUTES = [
    ("GET", "/admin/events"),
    ("GET", "/admin/events/count"),
    ("POST", "/admin/events/clear"),
    ("POST", "/admin/login_as"),
    ("POST", "/admin/approve_device"),
    ("POST", "/admin/deny_device"),
    ("POST", "/admin/auto_approve"),
    ("POST", "/admin/expire_access_tokens"),
    ("POST", "/admin/revoke_user"),
    ("POST", "/admin/rotate_keys"),
    ("GET", "/admin/apps"),
    ("GET", "/admin/apps/web"),
    ("POST", "/admin/apps/web"),
    ("POST", "/admin/faults"),
    ("POST", "/admin/faults/clear"),
    ("GET", "/admin/clock"),
    ("POST", "/admin/clock"),
]


@pytest.fixture
def shared(dev: DevServer) -> Iterator[tuple[DevServer, httpx.Client]]:
    """The module's server, for tests that change nothing (or only try to and fail)."""
    with client(dev) as c:
        yield dev, c


@pytest.fixture
def fresh(fresh_dev: DevServer) -> Iterator[tuple[DevServer, httpx.Client]]:
    with client(fresh_dev) as c:
        yield fresh_dev, c


def _ok(response: httpx.Response) -> object:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def _bad(response: httpx.Response, text: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    assert text in body["error_description"]


# -- events ---------------------------------------------------------------------------------


def test_events_since_and_clear(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    for _ in range(3):
        refresh(http, dev, "web", "nope")
    events = _ok(http.get("/admin/events"))
    assert events == [asdict(event) for event in dev.events]
    assert isinstance(events, list) and len(events) == 3
    assert _ok(http.get("/admin/events", params={"since": 2})) == events[2:]
    assert _ok(http.post("/admin/events/clear", json={})) == {"ok": True}
    assert _ok(http.get("/admin/events")) == []
    assert dev.events == []
    _bad(http.get("/admin/events", params={"since": "x"}), "invalid literal")


# -- logins and devices ---------------------------------------------------------------------


def test_login_as(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    body = _ok(http.post("/admin/login_as", json={"user": GRACE, "app": "web"}))
    assert isinstance(body, dict)
    assert body["scope"] == "openid email profile offline_access"
    assert {"access_token", "refresh_token", "id_token", "expires_in"} <= set(body)
    assert api(http, "whoami", body["access_token"]).json()["sub"] == GRACE
    assert refresh(http, dev, "web", body["refresh_token"]).status_code == 200
    scoped = _ok(http.post("/admin/login_as", json={"scopes": ["openid", "demo.read"]}))
    assert isinstance(scoped, dict)
    assert scoped["scope"] == "openid demo.read"
    assert "refresh_token" not in scoped
    org = _ok(http.post("/admin/login_as", json={"server": "org"}))
    assert isinstance(org, dict)
    claims = jwt.decode(org["id_token"], options={"verify_signature": False})
    assert claims["iss"] == dev.base_url


def test_login_as_errors(shared: tuple[DevServer, httpx.Client]) -> None:
    _, http = shared
    _bad(http.post("/admin/login_as", json={"user": "nobody@example.com"}), "no user")
    _bad(http.post("/admin/login_as", json={"app": "nope"}), "no app named 'nope'")
    _bad(http.post("/admin/login_as", json={"server": "nope"}), "no authorization server")
    _bad(http.post("/admin/login_as", json={"colour": "red"}), "colour")
    bad_scope = http.post("/admin/login_as", json={"scopes": "openid bogus"})
    assert bad_scope.status_code == 400
    assert bad_scope.json() == {"error": "invalid_scope", "error_description": INVALID_SCOPE}
    _bad(http.post("/admin/login_as", json={"scopes": 5}), "")
    _bad(http.post("/admin/login_as", content=b"[1, 2]", headers=JSON), "JSON object")
    _bad(http.post("/admin/login_as", content=b"{not json", headers=JSON), "")


def test_approve_and_deny_device(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    yes, no = device_start(http, dev), device_start(http, dev)
    assert _ok(
        http.post("/admin/approve_device", json={"user_code": yes["user_code"], "user": GRACE})
    ) == {"ok": True}
    assert _ok(http.post("/admin/deny_device", json={"user_code": no["user_code"]})) == {"ok": True}
    approved = device_poll(http, dev, yes["device_code"])
    assert approved.status_code == 200
    assert api(http, "whoami", approved.json()["access_token"]).json()["sub"] == GRACE
    assert device_poll(http, dev, no["device_code"]).json()["error"] == "access_denied"
    _bad(
        http.post("/admin/approve_device", json={"user_code": yes["user_code"]}),
        "no pending device login",
    )
    _bad(http.post("/admin/deny_device", json={"user_code": "BCDFGHJK"}), "no pending")
    _bad(http.post("/admin/approve_device", json={"user_code": 12345678}), "")
    _bad(http.post("/admin/approve_device", json={}), "user_code")


def test_auto_approve(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    assert _ok(http.post("/admin/auto_approve", json={"user": ADA})) == {"ok": True}
    assert dev.auto_approve == ADA
    assert device_poll(http, dev, device_start(http, dev)["device_code"]).status_code == 200
    assert _ok(http.post("/admin/auto_approve", json={"user": None})) == {"ok": True}
    assert dev.auto_approve is None
    pending = device_poll(http, dev, device_start(http, dev)["device_code"])
    assert pending.json()["error"] == "authorization_pending"
    _bad(http.post("/admin/auto_approve", json={"user": "eve@example.com"}), "no user")


def test_expire_access_tokens(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    ada = [dev.login_as(ADA, "native").access_token for _ in range(2)]
    grace = dev.login_as(GRACE, "native").access_token
    assert _ok(http.post("/admin/expire_access_tokens", json={"user": ADA})) == {"expired": 2}
    for access in ada:
        assert api(http, "whoami", access).status_code == 401
    assert api(http, "whoami", grace).status_code == 200
    assert _ok(http.post("/admin/expire_access_tokens", json={"user": ADA})) == {"expired": 0}
    _bad(http.post("/admin/expire_access_tokens", json={}), "user")


def test_revoke_user(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    tokens = dev.login_as(ADA, "web")
    assert tokens.refresh_token is not None
    assert _ok(http.post("/admin/revoke_user", json={"user": ADA})) == {"revoked": 1}
    assert_error(refresh(http, dev, "web", tokens.refresh_token), 400, "invalid_grant", RT_INVALID)
    assert api(http, "whoami", tokens.access_token).status_code == 401
    _bad(http.post("/admin/revoke_user", json={"user": "x"}), "no user")


def test_rotate_keys(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    body = _ok(http.post("/admin/rotate_keys", json={}))
    assert isinstance(body, dict)
    kid = body["kid"]
    assert kid in {key.key_id for key in jwks(http).keys}
    access = dev.login_as(ADA, "native").access_token
    assert jwt.get_unverified_header(access)["kid"] == kid
    _bad(http.post("/admin/rotate_keys", json={"server": "aus0nope"}), "no authorization server")


# -- apps -----------------------------------------------------------------------------------


def test_apps_listing_hides_secrets(shared: tuple[DevServer, httpx.Client]) -> None:
    dev, http = shared
    apps = _ok(http.get("/admin/apps"))
    assert isinstance(apps, dict)
    assert set(apps) == {"native", "web", "service", "service-jwt", "no-refresh"}
    for name, settings in apps.items():
        assert "client_secret" not in settings
        assert settings["client_id"] == dev.app(name).client_id
        assert settings["grant_types"] == list(dev.app(name).grant_types)
    assert dev.app("web").client_secret not in http.get("/admin/apps").text


def test_one_app_shows_its_secret(shared: tuple[DevServer, httpx.Client]) -> None:
    dev, http = shared
    web = _ok(http.get("/admin/apps/web"))
    assert isinstance(web, dict)
    assert web["client_secret"] == dev.app("web").client_secret
    assert web["rotation"] == "STATIC" and web["grace_period"] == 30
    _bad(http.get("/admin/apps/nope"), "no app named 'nope'")


def test_configure_app(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    changed = _ok(
        http.post(
            "/admin/apps/web",
            json={"rotation_type": "rotate", "leeway": 0, "access_token_ttl": 300},
        )
    )
    assert isinstance(changed, dict)
    assert (changed["rotation"], changed["grace_period"]) == ("ROTATE", 0)
    assert "client_secret" not in changed
    assert dev.app("web").access_token_ttl == 300
    tokens = dev.login_as(ADA, "web")
    assert tokens.refresh_token is not None
    rotated = refresh(http, dev, "web", tokens.refresh_token).json()
    assert rotated["expires_in"] == 300
    assert rotated["refresh_token"] != tokens.refresh_token


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"grace_period": 61}, "grace_period must be 0 to 60 seconds"),
        ({"rotation": "SOMETIMES"}, "rotation must be 'STATIC' or 'ROTATE'"),
        ({"colour": "red"}, "unknown app setting(s) colour"),
        ({"access_token_ttl": 0}, "access_token_ttl must be a positive number"),
        ({"access_token_ttl": "long"}, "access_token_ttl must be a whole number of seconds"),
        ({"grant_types": ["password"]}, "unsupported grant type 'password'"),
        ({"client_secret": "short"}, "client_secret must be 14 to 100 characters"),
    ],
)
def test_configure_app_refuses_bad_values(
    shared: tuple[DevServer, httpx.Client], change: dict[str, object], text: str
) -> None:
    dev, http = shared
    before = dev.app("web")
    _bad(http.post("/admin/apps/web", json=change), text)
    assert dev.app("web") == before


# -- faults and clock -----------------------------------------------------------------------


def test_faults_and_clear(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    assert _ok(http.post("/admin/faults", json={"status": 429, "count": 2})) == {"ok": True}
    assert refresh(http, dev, "web", "x").status_code == 429
    assert _ok(http.post("/admin/faults/clear", json={})) == {"ok": True}
    assert refresh(http, dev, "web", "x").status_code == 400
    _bad(http.post("/admin/faults", json={"status": 418}), "status must be one of")
    _bad(http.post("/admin/faults", json={}), "a fault needs")
    _bad(http.post("/admin/faults", json={"status": 500, "count": 0}), "a fault needs")
    _bad(http.post("/admin/faults", json={"status": 500, "count": "x"}), "")


def test_clock(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    assert _ok(http.get("/admin/clock")) == {"offset": 0.0}
    assert _ok(http.post("/admin/clock", json={"advance": 90})) == {"offset": 90.0}
    assert _ok(http.post("/admin/clock", json={"advance": 10.5})) == {"offset": 100.5}
    assert dev.clock_offset == 100.5
    assert _ok(http.post("/admin/clock", json={"offset": -5})) == {"offset": -5.0}
    assert _ok(http.get("/admin/clock")) == {"offset": -5.0}
    _bad(http.post("/admin/clock", json={"advance": "soon"}), "")


@pytest.mark.parametrize(
    "body",
    [b'{"advance": Infinity}', b'{"offset": NaN}', b'{"offset": -Infinity}', b'{"advance": 1e300}'],
)
def test_clock_refuses_values_that_would_break_the_server(
    fresh: tuple[DevServer, httpx.Client], body: bytes
) -> None:
    dev, http = fresh
    _bad(http.post("/admin/clock", content=body, headers=JSON), "clock")
    assert dev.clock_offset == 0.0
    assert http.get(f"{DEFAULT}/keys").status_code == 200  # the server still answers
    with pytest.raises(SettingsError):
        dev.advance_clock(float("inf"))


def test_clock_over_http_expires_tokens(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    access = dev.login_as(ADA, "native").access_token
    _ok(http.post("/admin/clock", json={"advance": 3601}))
    assert api(http, "whoami", access).status_code == 401


def test_admin_routes_are_not_oauth_events(fresh: tuple[DevServer, httpx.Client]) -> None:
    dev, http = fresh
    http.get("/admin/apps")
    http.post("/admin/login_as", json={})
    assert dev.events == []


# -- loopback only --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def asgi_app() -> object:
    """The app exactly as DevServer builds it, to be called in-process with a chosen client."""
    authority = Authority(default_settings(), "http://dev.test", Clock())
    return build_app(authority, Controls(authority))


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_admin_refuses_non_loopback_clients(asgi_app: object, method: str, path: str) -> None:
    transport = httpx.ASGITransport(app=asgi_app, client=("10.0.0.5", 1234))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://dev.test") as remote:
        response = await remote.request(method, path, json={"user": ADA})
    assert response.status_code == 403
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The admin API answers loopback clients only.",
    }


@pytest.mark.anyio
async def test_admin_answers_loopback_clients_through_the_same_app(asgi_app: object) -> None:
    app = asgi_app
    for host in ("127.0.0.1", "::1"):
        transport = httpx.ASGITransport(app=app, client=(host, 1234))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://dev.test") as local:
            assert (await local.get("/admin/clock")).status_code == 200


@pytest.mark.anyio
async def test_oauth_endpoints_stay_open_to_non_loopback_clients(asgi_app: object) -> None:
    transport = httpx.ASGITransport(app=asgi_app, client=("10.0.0.5", 1234))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://dev.test") as remote:
        response = await remote.get("/oauth2/default/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.json()["issuer"] == "http://dev.test/oauth2/default"


def test_admin_control_changes_are_visible_over_oauth(
    fresh: tuple[DevServer, httpx.Client],
) -> None:
    dev, http = fresh
    _ok(http.post("/admin/apps/service", json={"access_token_ttl": 60}))
    body = post(
        http,
        dev,
        "service",
        f"{DEFAULT}/token",
        {"grant_type": "client_credentials", "scope": "demo.read"},
    ).json()
    assert body["expires_in"] == 60
