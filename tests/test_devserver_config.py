"""Apps, users and server settings from a TOML file or a mapping; clear errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from devserver_helpers import (
    DEFAULT,
    DEVICE_GRANT,
    client,
    code_flow,
    device_poll,
    device_start,
    jwks,
    post,
    refresh,
    verify,
)

from okta_nb_auth.devserver import AppSettings, DevServer, SettingsError

CONFIG = """
[server]
rate_limit_per_minute = 42
custom_scopes = ["weather.read", "weather.write"]

[users."lin@example.com"]
password = "correct-horse-battery"
name = "Lin Example"
given_name = "Lin"
family_name = "Example"

[apps.native]
access_token_ttl = 300
rotation = "ROTATE"
grace_period = 5

[apps.cli]
application_type = "native"
grant_types = ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"]
token_endpoint_auth_method = "none"
device_interval = 1
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "devserver.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_defaults_need_no_file(dev: DevServer) -> None:
    apps = dev.apps
    assert set(apps) == {"native", "web", "service", "service-jwt", "no-refresh"}
    assert all(isinstance(app, AppSettings) for app in apps.values())
    native, web = apps["native"], apps["web"]
    assert native.token_endpoint_auth_method == "none" and native.client_secret is None
    assert native.pkce_required
    assert DEVICE_GRANT in native.grant_types
    assert web.token_endpoint_auth_method == "client_secret_basic"
    assert web.client_secret is not None and 14 <= len(web.client_secret) <= 100
    assert (web.rotation, web.grace_period) == ("STATIC", 30)
    assert apps["service"].grant_types == ("client_credentials",)
    assert "refresh_token" not in apps["no-refresh"].grant_types
    for app in apps.values():
        assert app.client_id.startswith("0oa") and len(app.client_id) == 20
    assert dev.users == ["ada@example.com", "grace@example.com"]
    assert dev.password("ada@example.com") == "analytical-engine"


def test_secrets_differ_per_server_start(dev: DevServer) -> None:
    with DevServer(port=0) as other:
        assert other.app("web").client_id == dev.app("web").client_id
        assert other.app("web").client_secret != dev.app("web").client_secret


def test_toml_file_is_loaded_and_used(config_file: Path) -> None:
    with DevServer(port=0, config=config_file) as dev, client(dev) as http:
        assert set(dev.apps) == {"native", "web", "service", "service-jwt", "no-refresh", "cli"}
        native = dev.app("native")
        assert (native.access_token_ttl, native.rotation, native.grace_period) == (300, "ROTATE", 5)
        assert native.pkce_required  # untouched defaults stay
        assert "lin@example.com" in dev.users
        # Over HTTP: the new user signs in, the app's lifetime and rotation apply.
        body = code_flow(
            http, dev, "native", user="lin@example.com", password="correct-horse-battery"
        )
        assert body["expires_in"] == 300
        assert (
            refresh(http, dev, "native", body["refresh_token"]).json()["refresh_token"]
            != (body["refresh_token"])
        )
        info = http.get(
            f"{DEFAULT}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
        ).json()
        assert info["name"] == "Lin Example"
        # The new app, with the new custom scopes.
        start = device_start(http, dev, scope="openid weather.read offline_access", app="cli")
        assert start["interval"] == 1
        dev.approve_device(start["user_code"], "lin@example.com")
        tokens = device_poll(http, dev, start["device_code"], app="cli").json()
        claims = verify(
            tokens["access_token"], jwks(http), audience="api://default", issuer=dev.issuer
        )
        assert claims["scp"] == ["openid", "weather.read", "offline_access"]
        assert claims["cid"] == dev.app("cli").client_id
        # The [server] table.
        doc = http.get("/oauth2/default/.well-known/openid-configuration").json()
        assert "weather.read" in doc["scopes_supported"]
        assert "demo.read" not in doc["scopes_supported"]
        response = post(http, dev, "web", f"{DEFAULT}/introspect", {"token": "x"})
        assert response.headers["x-rate-limit-limit"] == "42"


def test_mapping_config_same_shape() -> None:
    config = {"apps": {"web": {"access_token_ttl": 120, "rotation": "rotate"}}}
    with DevServer(port=0, config=config) as dev:
        assert dev.app("web").access_token_ttl == 120
        assert dev.app("web").rotation == "ROTATE"
        assert dev.login_as("ada@example.com", "web").expires_at - dev.now() == pytest.approx(
            120, abs=5
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[apps.native]\ngrace_period = 61\n", "app 'native': grace_period must be 0 to 60"),
        ("[apps.native]\nrotation = 'SOMETIMES'\n", "rotation must be 'STATIC' or 'ROTATE'"),
        ("[apps.native]\ncolour = 'red'\n", "unknown app setting(s) colour for app 'native'"),
        ("[apps.web]\naccess_token_ttl = 0\n", "access_token_ttl must be a positive number"),
        ("[apps.web]\nclient_secret = 'short'\n", "client_secret must be 14 to 100 characters"),
        (
            "[apps.web]\ntoken_endpoint_auth_method = 'client_secret_jwt'\n",
            "token_endpoint_auth_method must be one of",
        ),
        ("[apps.web]\ngrant_types = ['password']\n", "unsupported grant type 'password'"),
        (
            "[apps.new]\napplication_type = 'web'\n",
            "new app 'new' needs: grant_types, token_endpoint_auth_method",
        ),
        (
            "[apps.new]\napplication_type = 'tv'\ngrant_types = []\n"
            "token_endpoint_auth_method = 'none'\n",
            "application_type must be one of",
        ),
        (
            "[apps.new]\napplication_type = 'web'\ngrant_types = []\n"
            "token_endpoint_auth_method = 'none'\nsparkle = true\n",
            "app 'new'",
        ),
        ("[users.\"x@example.com\"]\npassword = 'p'\n", "user 'x@example.com'"),
        ("[users.\"x@example.com\"]\npassword = 'p'\nname = 'X'\nshoe = 1\n", "shoe"),
        ("[server]\nmax_connections = 5\n", "[server]"),
        ("this is = = not toml", "is not valid TOML"),
        (
            "[apps.web]\nredirect_uris = 'http://127.0.0.1:8765/callback'\n",
            "redirect_uris must be a list of strings",
        ),
        ("[apps.web]\ngrant_types = 'authorization_code'\n", "grant_types must be a list"),
        ("[apps.web]\nassigned_users = 'ada@example.com'\n", "assigned_users must be a list"),
        ("[apps.web]\naccess_token_ttl = 3.5\n", "access_token_ttl must be a whole number"),
        ("[apps.web]\ngrace_period = true\n", "grace_period must be a whole number"),
    ],
)
def test_bad_config_file_raises_a_clear_settings_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        DevServer(port=0, config=path)
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(SettingsError, match=r"cannot read config file .*nope\.toml"):
        DevServer(port=0, config=missing)


def test_bad_mapping_raises_settings_error() -> None:
    with pytest.raises(SettingsError, match="grace_period must be 0 to 60"):
        DevServer(port=0, config={"apps": {"web": {"grace_period": -1}}})


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


def test_configure_app_at_run_time_checks_values(fresh_dev: DevServer) -> None:
    with pytest.raises(SettingsError, match="grace_period must be 0 to 60"):
        fresh_dev.configure_app("native", grace_period=100)
    with pytest.raises(SettingsError, match="no app named 'nope'"):
        fresh_dev.configure_app("nope", access_token_ttl=60)
    changed = fresh_dev.configure_app("native", rotation_type="ROTATE", leeway=10)
    assert (changed.rotation, changed.grace_period) == ("ROTATE", 10)
    assert fresh_dev.app("native") == changed


SPA = """
[apps.spa]
application_type = "browser"
grant_types = ["authorization_code", "refresh_token"]
token_endpoint_auth_method = "none"
"""


def test_new_apps_get_okta_defaults_for_their_type(tmp_path: Path) -> None:
    path = tmp_path / "spa.toml"
    path.write_text(SPA + CLI_ONLY, encoding="utf-8")
    with DevServer(port=0, config=path) as dev, client(dev) as http:
        spa, cli = dev.app("spa"), dev.app("cli")
        # Okta: ROTATE with a 30 s leeway for SPAs, STATIC otherwise; PKCE for public clients.
        assert (spa.rotation, spa.grace_period, spa.pkce_required) == ("ROTATE", 30, True)
        assert (cli.rotation, cli.pkce_required) == ("STATIC", True)
        params = {
            "client_id": spa.client_id,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": spa.redirect_uris[0],
            "state": "s",
        }
        response = http.get(f"{DEFAULT}/authorize", params=params)
        assert response.status_code == 302
        assert "PKCE+code+challenge+is+required" in response.headers["location"]


CLI_ONLY = """
[apps.cli]
application_type = "native"
grant_types = ["urn:ietf:params:oauth:grant-type:device_code"]
token_endpoint_auth_method = "none"
"""


def test_explicit_settings_win_over_type_defaults(tmp_path: Path) -> None:
    path = tmp_path / "spa.toml"
    path.write_text(SPA + 'rotation = "STATIC"\ngrace_period = 0\n', encoding="utf-8")
    with DevServer(port=0, config=path) as dev:
        assert (dev.app("spa").rotation, dev.app("spa").grace_period) == ("STATIC", 0)


def test_a_string_is_not_taken_for_a_list_of_redirect_uris(fresh_dev: DevServer) -> None:
    # A string would make "in" a substring test: a prefix of the URI would be accepted.
    with pytest.raises(SettingsError, match="redirect_uris must be a list of strings"):
        fresh_dev.configure_app("web", redirect_uris="http://127.0.0.1:8765/callback")
    with client(fresh_dev) as http:
        params = {
            "client_id": fresh_dev.app("web").client_id,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": "http://127.0.0.1:8765/c",
            "state": "s",
        }
        assert http.get(f"{DEFAULT}/authorize", params=params).status_code == 400


def test_an_app_shows_as_one_line_without_its_secret(dev: DevServer) -> None:
    app = dev.configure_app("web", rotation="ROTATE", grace_period=0)
    text = repr(app)
    assert "\n" not in text and len(text) < 160
    assert "client_secret_basic" in text and "ROTATE (grace 0 s)" in text
    assert app.client_secret is not None and app.client_secret not in text
    dev.configure_app("web", rotation="STATIC", grace_period=30)
