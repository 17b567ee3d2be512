"""The browser (PKCE) login through pushed authorization requests (RFC 9126), end to end.

When the discovery document names ``pushed_authorization_request_endpoint`` the login pushes
its request there (with the session's client and the app's own client authentication) and
opens only ``client_id`` + ``request_uri``; without it, the plain URL. The loopback listener,
``paste()`` and the widget work unchanged, and a refused push lands in the error tree.
"""

from __future__ import annotations

import dataclasses
import logging
import ssl
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flow_helpers import free_port, in_thread, loopback_config, result_of, sign_in

from okta_nb_auth import (
    AuthSession,
    ConfigError,
    LoginWidget,
    OktaConfig,
    ProtocolError,
    RateLimited,
    TransientError,
)
from okta_nb_auth._discovery import DISCOVERY_CACHE, fetch_metadata
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.logins import AuthCodeLogin, pkce_login
from okta_nb_auth.logins._par import parse_par_response

ADA, ADA_PASSWORD = "ada@example.com", "analytical-engine"
BAD_REDIRECT = (
    "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings."
)
WAIT = 30.0


@pytest.fixture(autouse=True)
def fresh_discovery() -> Iterator[None]:
    """Discovery is cached per issuer across tests: each test reads its own server's."""
    DISCOVERY_CACHE.clear()
    yield
    DISCOVERY_CACHE.clear()


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def _par_events(dev: DevServer) -> list[tuple[int, str | None]]:
    return [(e.status, e.auth_method) for e in dev.events if e.endpoint == "par"]


def _web_config(dev: DevServer, method: str) -> OktaConfig:
    """The web app (a client secret) on a free loopback port, authenticating by ``method``."""
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    dev.configure_app("web", redirect_uris=[redirect], token_endpoint_auth_method=method)
    return dev.config("web")


def test_pkce_login_pushes_and_opens_only_client_id_and_request_uri(
    fresh_dev: DevServer,
) -> None:
    config = loopback_config(fresh_dev)
    urls: list[str] = []
    browsers = []

    def open_page(url: str) -> None:
        urls.append(url)
        browsers.append(in_thread(lambda: sign_in(url, ADA, ADA_PASSWORD)))

    result = pkce_login(config, on_url=open_page, timeout=30)
    result.session.close()
    assert result.claims["email"] == ADA
    [url] = urls
    assert url.startswith(f"{fresh_dev.issuer}/v1/authorize?")
    query = _query(url)
    assert set(query) == {"client_id", "request_uri"}  # nonce, challenge, state: pushed
    assert query["request_uri"][0].startswith("urn:okta:")
    assert "Signed in" in result_of(*browsers[0]).text  # type: ignore[attr-defined]
    assert _par_events(fresh_dev) == [(201, "none")]
    assert [e.endpoint for e in fresh_dev.events if e.endpoint in ("par", "token")] == [
        "par",
        "token",
    ]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_the_push_uses_the_apps_own_client_authentication(
    fresh_dev: DevServer, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = _web_config(fresh_dev, method)
    assert config.client_secret is not None
    caplog.set_level(logging.DEBUG)
    with AuthSession(config) as session:
        login = AuthCodeLogin.start(config, session)
        assert set(_query(login.url)) == {"client_id", "request_uri"}
        final = sign_in(login.url, ADA, ADA_PASSWORD, follow=False).headers["Location"]
        login.paste(final)  # the paste fallback works unchanged, state checked
        assert login.wait(listen=False, timeout=5).claims["email"] == ADA
    assert _par_events(fresh_dev) == [(201, method)]
    [event] = [e for e in fresh_dev.events if e.endpoint == "par"]
    assert event.auth_mismatch is None  # exactly the app's method
    assert config.client_secret not in caplog.text and config.client_secret not in login.url


def test_an_app_that_requires_par_signs_in_through_the_loopback(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    fresh_dev.configure_app("native", require_pushed_authorization_requests=True)
    with AuthSession(config) as session:
        login = AuthCodeLogin.start(config, session)
        login.open_listener()
        thread, out = in_thread(lambda: login.wait(timeout=30))
        assert "Signed in" in sign_in(login.url, ADA, ADA_PASSWORD).text
        assert result_of(thread, out).claims["email"] == ADA  # type: ignore[attr-defined]


def test_without_a_par_endpoint_the_plain_url_is_opened(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    with AuthSession(config) as session:
        metadata = fetch_metadata(config.issuer, session)
        assert metadata.pushed_authorization_request_endpoint == f"{config.issuer}/v1/par"
        plain = dataclasses.replace(metadata, pushed_authorization_request_endpoint=None)
        DISCOVERY_CACHE.put(plain)
        login = AuthCodeLogin.start(config, session)
        query = _query(login.url)
        assert "request_uri" not in query and query["code_challenge_method"] == ["S256"]
        final = sign_in(login.url, ADA, ADA_PASSWORD, follow=False).headers["Location"]
        login.paste(final)
        assert login.wait(listen=False, timeout=5).claims["email"] == ADA
    assert _par_events(fresh_dev) == []


def test_the_push_goes_through_the_sessions_tls_settings() -> None:
    with DevServer(port=0, tls=True) as dev:
        config = loopback_config(dev)
        assert config.ca_bundle is not None and config.issuer.startswith("https://")
        trust = ssl.create_default_context(cafile=config.ca_bundle)
        with AuthSession(config) as session, httpx.Client(verify=trust, timeout=5) as browser:
            login = AuthCodeLogin.start(config, session)
            page = browser.get(login.url)
            txn = page.text.split('name=txn value="')[1].split('"')[0]
            form = {"txn": txn, "username": ADA, "password": ADA_PASSWORD, "action": "signin"}
            login.paste(browser.post(login.url, data=form).headers["Location"])
            assert login.wait(listen=False, timeout=5).claims["email"] == ADA
        assert _par_events(dev) == [(201, "none")]


# ----------------------------------------------------------------- refused pushes


def test_an_unregistered_redirect_uri_is_a_config_error(fresh_dev: DevServer) -> None:
    config = fresh_dev.config("native", redirect_uri=f"http://127.0.0.1:{free_port()}/other")
    with AuthSession(config) as session, pytest.raises(ConfigError) as info:
        AuthCodeLogin.start(config, session)
    assert info.value.error == "invalid_request"
    assert info.value.error_description == BAD_REDIRECT
    assert _par_events(fresh_dev) == [(400, "none")]


def test_a_wrong_client_secret_is_a_config_error(fresh_dev: DevServer) -> None:
    config = _web_config(fresh_dev, "client_secret_basic")
    wrong = dataclasses.replace(config, client_secret="not-the-secret-at-all")
    with AuthSession(wrong) as session, pytest.raises(ConfigError) as info:
        AuthCodeLogin.start(wrong, session)
    assert (info.value.error, info.value.status_code) == ("invalid_client", 401)
    assert "not-the-secret-at-all" not in str(info.value)


def test_an_unreachable_par_endpoint_is_transient(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    with AuthSession(config) as session:
        login = AuthCodeLogin(config, session, f"{config.issuer}/v1/authorize")
        with pytest.raises(TransientError, match="Nothing answers"):
            login.push(f"http://127.0.0.1:{free_port()}/v1/par")


def _answer(status: int, **options: object) -> httpx.Response:
    request = httpx.Request("POST", "https://example.okta.com/oauth2/default/v1/par")
    return httpx.Response(status, request=request, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (_answer(503, text="<html>Service Unavailable</html>"), TransientError),
        (_answer(500, json={"error": "server_error", "error_description": "x"}), TransientError),
        (_answer(429, headers={"X-Rate-Limit-Reset": "0"}), RateLimited),
        (_answer(401, json={"error": "invalid_client", "error_description": "x"}), ConfigError),
        (_answer(400, json={"error": "invalid_request", "error_description": "x"}), ConfigError),
        (_answer(201, json={"expires_in": 3600}), ProtocolError),
        (_answer(201, json=["urn:okta:x"]), ProtocolError),
    ],
)
def test_par_answers_map_to_the_error_tree(response: httpx.Response, error: type) -> None:
    with pytest.raises(error):
        parse_par_response(response, 0.0)


def test_a_par_answer_gives_its_request_uri() -> None:
    answer = _answer(201, json={"request_uri": "urn:okta:abc", "expires_in": 3600})
    assert parse_par_response(answer, 0.0) == "urn:okta:abc"


# ----------------------------------------------------------------------- the widget


def test_the_widgets_pkce_flow_goes_through_par(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    widget = LoginWidget(config, flow="pkce", tick=None)
    try:
        html = str(widget._html["link"].value)
        link = html.split('href="')[1].split('"')[0].replace("&amp;", "&")
        assert set(_query(link)) == {"client_id", "request_uri"}
        browser = in_thread(lambda: sign_in(link, ADA, ADA_PASSWORD))
        assert widget.wait(WAIT) is widget.session
        assert widget.state == "signed_in"
        assert "signed in" in result_of(*browser).text.lower()  # type: ignore[attr-defined]
        assert _par_events(fresh_dev) == [(201, "none")]
    finally:
        widget.close()
        if widget._control.session is not None:
            widget._control.session.close()
