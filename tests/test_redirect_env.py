"""The browser (PKCE) flow from the environment: OKTA_REDIRECT_URI, the dev-server default, and
what flow="auto" and flow="pkce" say without a redirect URI (issue 9, part A)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flow_helpers import free_port, in_thread, sign_in

from okta_nb_auth import ConfigError, OktaConfig, choose_flow, login
from okta_nb_auth._config import DEV_REDIRECT_URI, INSECURE_HTTP_ENV, is_dev_issuer
from okta_nb_auth.devserver import DevServer

OKTA = {"OKTA_ISSUER": "https://dev-123456.okta.com/oauth2/default", "OKTA_CLIENT_ID": "0oa1"}
MISSING = "OKTA_REDIRECT_URI is not set (or redirect_uri="
ADA, ADA_PASSWORD = "ada@example.com", "analytical-engine"


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OKTA_REDIRECT_URI", "OKTA_REDIRECTURI", INSECURE_HTTP_ENV):
        monkeypatch.delenv(name, raising=False)


def dev_env(dev: DevServer, **extra: str) -> dict[str, str]:
    return {"OKTA_ISSUER": dev.issuer, "OKTA_CLIENT_ID": dev.app("native").client_id, **extra}


# -- OktaConfig.from_env ---------------------------------------------------------------------


def test_an_okta_org_without_the_variable_has_no_redirect_uri() -> None:
    assert OktaConfig.from_env(OKTA).redirect_uri is None


@pytest.mark.parametrize("name", ["OKTA_REDIRECT_URI", "OKTA_REDIRECTURI"])
def test_the_variable_gives_the_redirect_uri(name: str) -> None:
    config = OktaConfig.from_env({**OKTA, name: " http://127.0.0.1:9000/callback "})
    assert config.redirect_uri == "http://127.0.0.1:9000/callback"


def test_the_underscore_name_wins_and_an_override_wins_over_both() -> None:
    env = {
        **OKTA,
        "OKTA_REDIRECT_URI": "http://127.0.0.1:1111/callback",
        "OKTA_REDIRECTURI": "http://127.0.0.1:2222/callback",
    }
    assert OktaConfig.from_env(env).redirect_uri == "http://127.0.0.1:1111/callback"
    override = OktaConfig.from_env(env, redirect_uri="http://127.0.0.1:3333/cb")
    assert override.redirect_uri == "http://127.0.0.1:3333/cb"


def test_a_dev_server_issuer_defaults_to_the_native_apps_redirect(dev: DevServer) -> None:
    config = OktaConfig.from_env(dev_env(dev))
    assert config.redirect_uri == DEV_REDIRECT_URI == "http://127.0.0.1:8765/callback"
    assert DEV_REDIRECT_URI in dev.app("native").redirect_uris  # the default is registered
    org = OktaConfig.from_env({**dev_env(dev), "OKTA_ISSUER": dev.org_issuer})
    assert org.redirect_uri == DEV_REDIRECT_URI


def test_the_variable_and_an_explicit_none_beat_the_dev_server_default(dev: DevServer) -> None:
    mine = "http://127.0.0.1:9999/callback"
    assert OktaConfig.from_env(dev_env(dev, OKTA_REDIRECT_URI=mine)).redirect_uri == mine
    assert OktaConfig.from_env(dev_env(dev), redirect_uri=None).redirect_uri is None


@pytest.mark.parametrize(
    ("issuer", "dev"),
    [
        ("http://127.0.0.1:8080/oauth2/default", True),
        ("http://localhost:8080", True),
        ("http://[::1]:8080/oauth2/default", True),
        ("https://127.0.0.1:8443/oauth2/default", False),  # not how the dev server serves
        ("http://192.0.2.10:8080/oauth2/default", False),  # a classroom server: not guessed
        ("https://dev-123456.okta.com/oauth2/default", False),
        ("https://login.example.com", False),
    ],
)
def test_what_counts_as_a_dev_server_issuer(issuer: str, dev: bool) -> None:
    assert is_dev_issuer(issuer) is dev


def test_a_classroom_issuer_gets_no_guessed_redirect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INSECURE_HTTP_ENV, "1")
    env = {"OKTA_DOMAIN": "http://192.0.2.10:8080/oauth2/default", "OKTA_CLIENTID": "0oa1"}
    with pytest.warns(UserWarning, match="plain-http"):
        config = OktaConfig.from_env(env)
    assert config.redirect_uri is None


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("127.0.0.1:8765/callback", "not an absolute http"),
        ("/callback", "not an absolute http"),
        ("ftp://127.0.0.1:8765/callback", "not an absolute http"),
        ("com.okta.dev-1:/callback", "not an absolute http"),
        ("http://127.0.0.1:8765/callback#done", "fragment"),
    ],
)
def test_a_bad_redirect_uri_is_refused_with_the_fix(value: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle) as info:
        OktaConfig.from_env({**OKTA, "OKTA_REDIRECT_URI": value})
    assert "OKTA_REDIRECT_URI" in str(info.value)
    with pytest.raises(ConfigError, match=needle):
        OktaConfig(OKTA["OKTA_ISSUER"], "0oa1", redirect_uri=value)


def test_an_empty_redirect_uri_means_none_and_the_config_stays_frozen() -> None:
    assert OktaConfig.from_env({**OKTA, "OKTA_REDIRECT_URI": "  "}).redirect_uri is None
    config = OktaConfig(OKTA["OKTA_ISSUER"], "0oa1", redirect_uri="")
    assert config.redirect_uri is None
    with pytest.raises(AttributeError):
        config.redirect_uri = DEV_REDIRECT_URI  # type: ignore[misc]


def test_a_web_redirect_uri_is_a_valid_setting() -> None:
    web = "https://app.example.com/api/auth/callback/okta"  # not for the listener, but valid
    assert OktaConfig.from_env({**OKTA, "OKTA_REDIRECT_URI": web}).redirect_uri == web


# -- choose_flow -----------------------------------------------------------------------------


def test_auto_without_a_redirect_uri_names_the_setting_not_the_app() -> None:
    choice = choose_flow(OktaConfig.from_env(OKTA), environ={}, has_browser=lambda: True)
    assert choice.flow == "device"
    assert choice.reason.startswith(MISSING), choice.reason
    assert "the app" not in choice.reason


def test_auto_with_a_redirect_uri_that_is_not_loopback_says_so() -> None:
    web = "https://app.example.com/callback"
    config = OktaConfig.from_env({**OKTA, "OKTA_REDIRECT_URI": web})
    choice = choose_flow(config, environ={}, has_browser=lambda: True)
    assert choice.flow == "device"
    assert web in choice.reason and "loopback" in choice.reason


def test_auto_picks_pkce_from_the_environment_on_a_local_kernel(dev: DevServer) -> None:
    config = OktaConfig.from_env(dev_env(dev))
    assert choose_flow(config, environ={}, has_browser=lambda: True).flow == "pkce"
    okta = OktaConfig.from_env({**OKTA, "OKTA_REDIRECT_URI": DEV_REDIRECT_URI})
    assert choose_flow(okta, environ={}, has_browser=lambda: True).flow == "pkce"
    remote = choose_flow(config, environ={"JUPYTERHUB_USER": "ada"}, has_browser=lambda: True)
    assert remote.flow == "device" and "JupyterHub" in remote.reason


@pytest.mark.parametrize("redirect", [None, "https://app.example.com/callback"])
def test_pkce_without_a_loopback_redirect_uri_raises_what_to_set(redirect: str | None) -> None:
    config = OktaConfig(OKTA["OKTA_ISSUER"], "0oa1", redirect_uri=redirect)
    with pytest.raises(ConfigError, match="OKTA_REDIRECT_URI") as info:
        choose_flow(config, "pkce")
    message = str(info.value)
    assert "flow='pkce'" in message and DEV_REDIRECT_URI in message and "flow='device'" in message


def test_login_with_pkce_and_no_redirect_uri_fails_before_any_request() -> None:
    with pytest.raises(ConfigError, match="Set OKTA_REDIRECT_URI"):
        login(OktaConfig.from_env(OKTA), flow="pkce", display=False, tick=None, store=None)


# -- a real PKCE login from the environment --------------------------------------------------


@pytest.fixture
def pkce_dev(fresh_dev: DevServer) -> Iterator[tuple[DevServer, str]]:
    """The native app with a redirect on a free port (tests never fight over 8765)."""
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    fresh_dev.configure_app("native", redirect_uris=[redirect, DEV_REDIRECT_URI])
    yield fresh_dev, redirect


def test_a_pkce_login_from_the_environment(pkce_dev: tuple[DevServer, str]) -> None:
    dev, redirect = pkce_dev
    config = OktaConfig.from_env(dev_env(dev, OKTA_REDIRECT_URI=redirect))
    widget = login(config, flow="pkce", display=False, tick=None, store=None)
    try:
        pkce = widget._control.current().pkce
        assert pkce is not None and pkce.listening and pkce.redirect_uri == redirect
        thread, out = in_thread(lambda: sign_in(pkce.url, ADA, ADA_PASSWORD))
        session = widget.wait(10)
        thread.join(10)
        assert not thread.is_alive()
        assert getattr(out[0], "status_code", None) == 200, out
        assert widget.state == "signed_in" and widget.user == "Ada Lovelace <ada@example.com>"
        assert session.get(f"{dev.api_url}/whoami").json()["sub"] == ADA
        grants = [e.grant_type for e in dev.events if e.endpoint == "token"]
        assert "authorization_code" in grants, dev.events
    finally:
        widget.close()
        if widget._control.session is not None:
            widget._control.session.close()
