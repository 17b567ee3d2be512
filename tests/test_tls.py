"""TLS on demand: the dev server over https with a throwaway CA, and clients that trust it
through ``OktaConfig(ca_bundle=...)`` (sessions, login flows, the widget) with no 'insecure'
switch anywhere."""

from __future__ import annotations

import os
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from cryptography import x509
from flow_helpers import TXN, free_port, in_thread, result_of

from okta_nb_auth import AsyncAuthSession, AuthSession, ConfigError, LoginWidget, OktaConfig
from okta_nb_auth.devserver import DevServer, DevServerError
from okta_nb_auth.logins import device_login, pkce_login

ADA, ADA_PASSWORD = "ada@example.com", "analytical-engine"
FIX = "pass the dev server's CA bundle"


@pytest.fixture(scope="module")
def tls_dev() -> Iterator[DevServer]:
    with DevServer(port=0, tls=True) as server:
        server.configure_app("native", device_interval=0)
        yield server


def trusting(ca_bundle: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_bundle)


def untrusting(dev: DevServer) -> OktaConfig:
    """The native app's config without the CA: what a user who forgot it has."""
    config = dev.config("native")
    return OktaConfig(issuer=config.issuer, client_id=config.client_id)


def certificate_names(dev: DevServer) -> set[str]:
    pem = ssl.get_server_certificate(("127.0.0.1", dev.port))
    names = x509.load_pem_x509_certificate(pem.encode()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    ips = {str(ip) for ip in names.value.get_values_for_type(x509.IPAddress)}
    return ips | set(names.value.get_values_for_type(x509.DNSName))


# ------------------------------------------------------------------------- the server


def test_the_server_speaks_https_with_a_private_ca(tls_dev: DevServer) -> None:
    assert tls_dev.issuer == f"https://127.0.0.1:{tls_dev.port}/oauth2/default"
    ca = tls_dev.ca_bundle
    assert ca is not None and Path(ca).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY" not in Path(ca).read_bytes()  # only the CA's certificate is on disk
    assert stat.S_IMODE(os.stat(ca).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(Path(ca).parent).st_mode) == 0o700
    url = tls_dev.issuer + "/.well-known/openid-configuration"
    doc = httpx.get(url, verify=trusting(ca)).json()
    assert doc["issuer"] == tls_dev.issuer and doc["jwks_uri"].startswith("https://127.0.0.1:")
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(url)
    assert {"127.0.0.1", "localhost", "::1"} <= certificate_names(tls_dev)


def test_config_carries_the_ca_and_shows_it(tls_dev: DevServer) -> None:
    config = tls_dev.config("native")
    assert config.ca_bundle == tls_dev.ca_bundle
    assert f"ca_bundle={tls_dev.ca_bundle!r}" in repr(config)
    assert hash(config) == hash(tls_dev.config("native"))
    assert "ca_bundle" not in repr(untrusting(tls_dev))  # unchanged repr without one


def test_the_ca_is_new_at_every_start_and_removed_at_stop(tmp_path: Path) -> None:
    bundles = []
    for _ in range(2):
        with DevServer(port=0, tls=True, ca_dir=tmp_path / "ca") as dev:
            assert dev.ca_bundle is not None
            bundles.append(Path(dev.ca_bundle).read_bytes())
            assert Path(dev.ca_bundle).parent == tmp_path / "ca"
        assert not (tmp_path / "ca").exists()  # made for the run, so removed with it
    assert bundles[0] != bundles[1]
    kept = tmp_path / "mine"
    kept.mkdir()
    with DevServer(port=0, tls=True, ca_dir=kept) as dev:
        assert dev.ca_bundle is not None and Path(dev.ca_bundle).exists()
    assert kept.is_dir() and not list(kept.iterdir())


def test_a_ca_dir_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    dev = DevServer(port=0, tls=True, ca_dir=blocker / "sub")
    with pytest.raises(DevServerError) as caught:
        dev.start()
    message = str(caught.value)
    assert "cannot write the dev server's CA bundle" in message and "--ca-dir" in message
    assert "\n" not in message
    assert not dev.running


def test_tls_options_that_do_not_fit_are_refused() -> None:
    with pytest.raises(DevServerError, match="only applies with tls=True"):
        DevServer(port=0, ca_dir="/tmp/somewhere")
    with pytest.raises(DevServerError, match="must start with https://"):
        DevServer(port=0, tls=True, public_url="http://192.0.2.1:8443")
    assert DevServer(port=0).ca_bundle is None
    with pytest.raises(DevServerError, match="start"):
        _ = DevServer(port=0, tls=True).ca_bundle


def test_the_public_urls_host_is_in_the_certificate() -> None:
    with DevServer(port=0, tls=True, public_url="https://classroom.test:8443") as dev:
        assert dev.issuer == "https://classroom.test:8443/oauth2/default"
        assert "classroom.test" in certificate_names(dev)


# ------------------------------------------------------------------------- sessions


def test_login_as_and_refresh_over_https(tls_dev: DevServer) -> None:
    with AuthSession(tls_dev.config("native"), tokens=tls_dev.login_as(ADA)) as session:
        assert session.get(f"{tls_dev.api_url}/whoami").json()["sub"] == ADA
        before = session.tokens
        assert session.refresh() != before
        assert session.get(f"{tls_dev.api_url}/whoami").status_code == 200


@pytest.mark.anyio
async def test_async_login_as_and_refresh_over_https(tls_dev: DevServer) -> None:
    config = tls_dev.config("native")
    async with AsyncAuthSession(config, tokens=tls_dev.login_as(ADA)) as session:
        await session.refresh()
        assert (await session.get(f"{tls_dev.api_url}/whoami")).json()["sub"] == ADA


def test_without_the_ca_the_error_says_how_to_trust_it(tls_dev: DevServer) -> None:
    with AuthSession(untrusting(tls_dev), tokens=tls_dev.login_as(ADA)) as session:
        with pytest.raises(ConfigError, match=FIX) as caught:
            session.refresh()
    assert "is not trusted" in str(caught.value) and "OKTA_CA_BUNDLE" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.mark.anyio
async def test_async_without_the_ca_the_error_says_how_to_trust_it(tls_dev: DevServer) -> None:
    async with AsyncAuthSession(untrusting(tls_dev), tokens=tls_dev.login_as(ADA)) as session:
        with pytest.raises(ConfigError, match=FIX):
            await session.refresh()


def test_another_ca_is_named_in_the_error(tls_dev: DevServer, tmp_path: Path) -> None:
    stale = tmp_path / "old-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stale))
    config = OktaConfig(tls_dev.issuer, tls_dev.app("native").client_id, ca_bundle=str(stale))
    with AuthSession(config, tokens=tls_dev.login_as(ADA)) as session:
        with pytest.raises(ConfigError, match=f"{FIX} of this run") as caught:
            session.refresh()
    assert str(stale) in str(caught.value)


def test_the_callers_verify_wins_over_the_configs_ca(tls_dev: DevServer) -> None:
    other = trustme.CA()
    mine = ssl.create_default_context(cadata=other.cert_pem.bytes().decode())
    config = tls_dev.config("native")
    with AuthSession(config, tokens=tls_dev.login_as(ADA), verify=mine) as session:
        with pytest.raises(ConfigError, match=FIX) as caught:
            session.refresh()
    assert str(config.ca_bundle) not in str(caught.value)  # it was not the one used


def test_a_ca_bundle_that_cannot_be_read_is_a_config_error(tmp_path: Path) -> None:
    config = OktaConfig("https://127.0.0.1:1/oauth2/default", "0oa1", ca_bundle=tmp_path / "no")
    assert config.ca_bundle == str(tmp_path / "no")  # a Path is taken, kept as a str
    with pytest.raises(ConfigError, match=r"cannot be used.*dev\.ca_bundle"):
        AuthSession(config)
    with pytest.raises(ConfigError, match="path of a PEM file"):
        OktaConfig("https://127.0.0.1:1/oauth2/default", "0oa1", ca_bundle=42)  # type: ignore[arg-type]


def test_from_env_reads_okta_ca_bundle(tls_dev: DevServer) -> None:
    env = {"OKTA_ISSUER": tls_dev.issuer, "OKTA_CLIENT_ID": tls_dev.app("native").client_id}
    assert OktaConfig.from_env(env).ca_bundle is None
    config = OktaConfig.from_env({**env, "OKTA_CA_BUNDLE": f" {tls_dev.ca_bundle} "})
    assert config.ca_bundle == tls_dev.ca_bundle
    with AuthSession(config, tokens=tls_dev.login_as(ADA)) as session:
        session.refresh()


def test_ssl_cert_file_works_through_httpx_defaults(
    tls_dev: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_dev.ca_bundle is not None
    monkeypatch.setenv("SSL_CERT_FILE", tls_dev.ca_bundle)
    with AuthSession(untrusting(tls_dev), tokens=tls_dev.login_as(ADA)) as session:
        session.refresh()


# ------------------------------------------------------------------------- login flows


def test_device_login_over_https(tls_dev: DevServer) -> None:
    tls_dev.auto_approve = ADA
    try:
        result = device_login(tls_dev.config("native"), sleep=lambda s: None)
    finally:
        tls_dev.auto_approve = None
    assert result.claims["email"] == ADA
    assert result.session.get(f"{tls_dev.api_url}/whoami").json()["sub"] == ADA
    result.session.close()


def test_device_login_without_the_ca_fails_at_once_with_the_fix(tls_dev: DevServer) -> None:
    with pytest.raises(ConfigError, match=FIX):
        device_login(untrusting(tls_dev), sleep=lambda s: None)


def browser_sign_in(url: str, ca_bundle: str) -> str:
    """A browser that trusts the dev server's CA: sign in, follow the redirect home."""
    with httpx.Client(timeout=5, verify=trusting(ca_bundle)) as browser:
        match = TXN.search(browser.get(url).text)
        assert match
        form = {"txn": match.group(1), "username": ADA, "password": ADA_PASSWORD}
        answer = browser.post(url, data={**form, "action": "signin"})
        return browser.get(answer.headers["Location"]).text


def test_pkce_login_over_https(tls_dev: DevServer) -> None:
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    tls_dev.configure_app("native", redirect_uris=[redirect])
    ca = tls_dev.ca_bundle
    assert ca is not None
    browsers: list[tuple[threading.Thread, list[object]]] = []
    result = pkce_login(
        tls_dev.config("native"),
        on_url=lambda url: browsers.append(in_thread(lambda: browser_sign_in(url, ca))),
        timeout=30,
    )
    assert result.claims["email"] == ADA
    result.session.close()
    assert "Signed in" in str(result_of(*browsers[0]))


def test_the_widget_signs_in_over_https(tls_dev: DevServer) -> None:
    widget = LoginWidget(tls_dev.config("native"), flow="device", tick=None)
    try:
        code = widget._control.current().code
        assert code is not None and code.link.startswith("https://127.0.0.1:")
        tls_dev.approve_device(code.user_code, ADA)
        session = widget.wait(30)
        assert session.get(f"{tls_dev.api_url}/whoami").json()["sub"] == ADA
    finally:
        widget.close()
        if widget.session is not None:
            widget.session.close()
