"""The login flows against the dev server: device grant, loopback PKCE, paste, auto choice."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flow_helpers import free_port, in_thread, loopback_config, result_of, sign_in

from okta_nb_auth import AuthSession, LoginCancelled, LoginRequired, LoginTimeout, ProtocolError
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.logins import (
    AuthCodeLogin,
    DeviceCode,
    PollStatus,
    choose_flow,
    device_login,
    pkce_login,
)

ADA, ADA_PASSWORD = "ada@example.com", "analytical-engine"


# ------------------------------------------------------------------------- device flow


def test_device_flow_approved_via_activate_page(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", device_interval=1)
    codes: list[DeviceCode] = []
    polls: list[PollStatus] = []
    sleeps: list[float] = []

    def approve_on_page(status: PollStatus) -> None:
        polls.append(status)
        form = {"user_code": codes[0].user_code, "username": ADA, "password": ADA_PASSWORD}
        page = httpx.post(f"{fresh_dev.base_url}/activate", data={**form, "action": "allow"})
        assert "Device activated" in page.text

    result = device_login(
        fresh_dev.config("native"),
        on_code=codes.append,
        on_poll=approve_on_page,
        sleep=lambda s: (sleeps.append(s), fresh_dev.advance_clock(s)),
    )
    session = result.session
    assert result.claims["email"] == ADA
    assert result.user == "Ada Lovelace <ada@example.com>"
    assert session.tokens is not None and session.tokens.refresh_token
    assert session.get(f"{fresh_dev.api_url}/whoami").json()["sub"] == ADA
    session.close()
    assert codes[0].link.endswith(f"/activate?user_code={codes[0].user_code}")
    assert "device_code" not in repr(codes[0])
    assert [p.state for p in polls] == ["pending"]
    assert sleeps == [1.0, 1.0]


def test_slow_down_adds_five_seconds(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", device_interval=1)
    codes: list[DeviceCode] = []
    polls: list[PollStatus] = []
    sleeps: list[float] = []

    def on_poll(status: PollStatus) -> None:
        polls.append(status)
        if status.state == "slow_down":
            fresh_dev.approve_device(codes[0].user_code, ADA)

    # A sleep that does not wait makes the second poll too fast for the server.
    result = device_login(
        fresh_dev.config("native"), on_code=codes.append, on_poll=on_poll, sleep=sleeps.append
    )
    result.session.close()
    assert [p.state for p in polls] == ["pending", "slow_down"]
    assert sleeps == [1.0, 1.0, 6.0]
    assert polls[-1].interval == 6.0


def test_expired_device_code(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", device_interval=1, device_code_ttl=60)
    with pytest.raises(LoginTimeout, match="expired") as info:
        device_login(fresh_dev.config("native"), sleep=lambda s: fresh_dev.advance_clock(30))
    assert info.value.error == "expired_token"
    assert isinstance(info.value, LoginRequired)


def test_denied_device_code(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", device_interval=0)
    with pytest.raises(LoginRequired, match="denied") as info:
        device_login(
            fresh_dev.config("native"),
            on_code=lambda code: fresh_dev.deny_device(code.user_code),
            sleep=lambda s: None,
        )
    assert info.value.error == "access_denied"


def test_wrong_user_code_on_the_page_keeps_the_login_waiting(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", device_interval=0)
    page = httpx.post(
        f"{fresh_dev.base_url}/activate",
        data={"user_code": "WRONGONE", "username": ADA, "password": ADA_PASSWORD},
    )
    assert page.status_code == 400
    cancel = threading.Event()
    polls: list[PollStatus] = []

    def on_poll(status: PollStatus) -> None:
        polls.append(status)
        if len(polls) == 3:
            cancel.set()

    with pytest.raises(LoginCancelled):
        device_login(fresh_dev.config("native"), on_poll=on_poll, cancel=cancel, sleep=lambda s: 0)
    assert [p.state for p in polls] == ["pending"] * 3


def test_cancel_stops_a_real_wait_at_once(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", device_interval=30)
    cancel = threading.Event()
    shown = threading.Event()
    thread, out = in_thread(
        lambda: device_login(
            fresh_dev.config("native"), cancel=cancel, on_code=lambda c: shown.set()
        )
    )
    assert shown.wait(30)
    cancel.set()  # the poll interval is 30 s: ending well before it means the wait was cut
    thread.join(15)
    assert not thread.is_alive()
    assert isinstance(out[0], LoginCancelled)


def test_device_login_resumes_a_given_session(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", device_interval=0)
    fresh_dev.auto_approve = "grace@example.com"
    config = fresh_dev.config("native")
    with AuthSession(config) as session:
        result = device_login(config, session=session, sleep=lambda s: None)
        assert result.session is session
        assert result.claims["email"] == "grace@example.com"


# ----------------------------------------------------------------------- PKCE loopback


def test_pkce_loopback_flow(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    urls: list[str] = []
    browsers: list[tuple[threading.Thread, list[object]]] = []

    def open_page(url: str) -> None:
        urls.append(url)
        browsers.append(in_thread(lambda: sign_in(url, ADA, ADA_PASSWORD)))

    result = pkce_login(config, on_url=open_page, timeout=30)
    assert result.flow == "pkce"
    assert result.claims["email"] == ADA
    assert result.session.get(f"{fresh_dev.api_url}/whoami").status_code == 200
    result.session.close()
    query = parse_qs(urlsplit(urls[0]).query)  # the dev server offers PAR: all else was pushed
    assert set(query) == {"client_id", "request_uri"}
    assert "code_verifier" not in urls[0]
    [browser] = browsers
    assert "Signed in" in result_of(*browser).text  # type: ignore[attr-defined]


def test_each_login_has_fresh_state_and_verifier(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    with AuthSession(config) as session:
        first, second = (AuthCodeLogin.start(config, session) for _ in range(2))
    assert first.url != second.url


def test_wrong_state_is_refused(fresh_dev: DevServer) -> None:
    # Any web page can send this to 127.0.0.1: it gets an error page, the login goes on.
    config = loopback_config(fresh_dev)
    with AuthSession(config) as session:
        login = AuthCodeLogin.start(config, session)
        login.open_listener()
        thread, out = in_thread(lambda: login.wait(timeout=30))
        forged = f"{config.redirect_uri}?code=forged-code&state=not-the-state"
        stray = httpx.get(forged, timeout=5)
        assert stray.status_code == 400 and "the login goes on" in stray.text
        assert "forged-code" not in stray.text and login._state not in stray.text
        assert session.tokens is None
        assert "Signed in" in sign_in(login.url, ADA, ADA_PASSWORD).text
        result = result_of(thread, out)
        assert result.claims["email"] == ADA  # type: ignore[attr-defined]
        with pytest.raises(httpx.ConnectError):  # the listener closed after the real one
            httpx.get(forged, timeout=1)


def test_loopback_timeout_gives_a_clean_error(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    started = time.monotonic()
    with pytest.raises(LoginTimeout, match="closed tab"):
        pkce_login(config, timeout=0.3)
    assert time.monotonic() - started < 30  # ended by its own timeout, not left hanging


def test_cancelled_on_the_sign_in_page(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    with AuthSession(config) as session:
        login = AuthCodeLogin.start(config, session)
        login.open_listener()

        def cancel_on_page() -> httpx.Response:
            with httpx.Client(timeout=5) as browser:
                page = browser.get(login.url)
                txn = page.text.split('name=txn value="')[1].split('"')[0]
                answer = browser.post(login.url, data={"txn": txn, "action": "cancel"})
                return browser.get(answer.headers["Location"])

        in_thread(cancel_on_page)
        with pytest.raises(LoginRequired, match="denied") as info:
            login.wait(timeout=5)
        assert info.value.error == "access_denied"


def test_port_in_use_is_a_clean_error(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    with AuthSession(config) as session:
        first = AuthCodeLogin.start(config, session)
        first.open_listener()
        try:
            with pytest.raises(Exception, match="Cannot listen"):
                AuthCodeLogin.start(config, session).open_listener()
        finally:
            first.close()


# ----------------------------------------------------------------------- paste fallback


def test_paste_fallback(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    with AuthSession(config) as session:
        login = AuthCodeLogin.start(config, session)
        answer = sign_in(login.url, ADA, ADA_PASSWORD, follow=False)
        final_url = answer.headers["Location"]  # what the address bar shows
        with pytest.raises(ProtocolError, match="state"):
            login.paste(final_url.replace("state=", "state=x"))
        login.paste("  " + final_url + "\n")
        result = login.wait(listen=False, timeout=5)
        assert result.session is session and result.claims["email"] == ADA


def test_wrong_password_then_right_one(fresh_dev: DevServer) -> None:
    config = loopback_config(fresh_dev)
    with AuthSession(config) as session:
        login = AuthCodeLogin.start(config, session)
        refused = sign_in(login.url, ADA, "wrong-password")
        assert refused.status_code == 401 and "Sign-in failed" in refused.text
        answer = sign_in(login.url, ADA, ADA_PASSWORD, follow=False)
        login.paste(answer.headers["Location"])
        assert login.wait(listen=False, timeout=5).claims["email"] == ADA


# ----------------------------------------------------------------------- flow="auto"


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({"JUPYTERHUB_API_URL": "http://hub:8081/hub/api"}, "JupyterHub"),
        ({"COLAB_RELEASE_TAG": "release-colab_20240101"}, "Google Colab"),
        ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, "Kaggle"),
        ({"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22"}, "SSH"),
        ({"VSCODE_AGENT_FOLDER": "/home/u/.vscode-server"}, "VS Code"),
    ],
)
def test_auto_picks_device_on_remote_kernels(
    dev: DevServer, environ: dict[str, str], reason: str
) -> None:
    choice = choose_flow(dev.config("native"), environ=environ, has_browser=lambda: True)
    assert choice.flow == "device"
    assert reason in choice.reason


def test_auto_picks_pkce_on_a_local_kernel_with_a_browser(dev: DevServer) -> None:
    config = dev.config("native")
    local = choose_flow(config, environ={}, has_browser=lambda: True)
    assert local.flow == "pkce" and "this computer" in local.reason
    headless = choose_flow(config, environ={}, has_browser=lambda: False)
    assert headless.flow == "device" and "no web browser" in headless.reason
    no_redirect = choose_flow(
        dev.config("native", redirect_uri=None), environ={}, has_browser=lambda: True
    )
    assert no_redirect.flow == "device" and "redirect" in no_redirect.reason


def test_explicit_flows_and_a_typo(dev: DevServer) -> None:
    config = dev.config("native")
    assert choose_flow(config, "device").flow == "device"
    assert choose_flow(config, "pkce").flow == "pkce"
    with pytest.raises(Exception, match="flow must be one of"):
        choose_flow(config, "browser")
    assert free_port() > 0


def test_a_server_clock_ahead_does_not_break_the_login(fresh_dev: DevServer) -> None:
    # The ID token's iat is in the server's time; the check uses the skew from Date.
    fresh_dev.configure_app("native", device_interval=0)
    fresh_dev.auto_approve = ADA
    fresh_dev.advance_clock(3600)
    result = device_login(fresh_dev.config("native"), sleep=lambda s: None)
    assert result.claims["email"] == ADA
    assert 3590 < result.session.okta_auth.skew < 3610
    result.session.close()
