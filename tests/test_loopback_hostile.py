"""The loopback listener under hostile input: stray redirects, forged Host headers, idle and
slow clients. Any web page can make a browser send requests to 127.0.0.1, so none of them
may end (or hold up) the login; only the redirect with this login's state does."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx
import pytest
from flow_helpers import in_thread, loopback_config, raw_get, result_of, sign_in, status_of

from okta_nb_auth import AuthSession, LoginCancelled, LoginRequired, ProtocolError
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.logins import AuthCodeLogin
from okta_nb_auth.logins._listener import _Handler

ADA, ADA_PASSWORD = "ada@example.com", "analytical-engine"
LONG_HANDLER_TIMEOUT = 60.0  # the joins below allow 15 s: ending before it is no timeout


@contextmanager
def waiting_login(dev: DevServer) -> Iterator[tuple[AuthCodeLogin, threading.Thread, list[object]]]:
    """A PKCE login with its listener open, waiting (30 s) on a helper thread."""
    config = loopback_config(dev)
    with AuthSession(config) as session:
        login = AuthCodeLogin.start(config, session)
        login.open_listener()
        cancel = threading.Event()
        thread, out = in_thread(lambda: login.wait(cancel=cancel, timeout=30))
        try:
            yield login, thread, out
        finally:
            cancel.set()
            thread.join(15)


def strays(state: str) -> list[str]:
    return [
        "code=forged&state=not-the-state",
        "code=forged",
        "code=forged&state=",
        f"code=forged&state={state}&state=other",
        f"code=forged&state={state}&state={state}",
        "code=forged&state=" + quote("ét\u00e9-\U0001f511"),
        "code=forged&state=%FF%FE%00",
        "state=" + "x" * 60_000,
        "&".join(f"f{i}=v" for i in range(500)) + f"&state={state}&code=forged",
    ]


def test_stray_requests_get_an_error_page_and_the_real_redirect_still_signs_in(
    fresh_dev: DevServer,
) -> None:
    with waiting_login(fresh_dev) as (login, thread, out):
        for query in strays(login._state):
            answer = raw_get(login.port, f"/callback?{query}", f"127.0.0.1:{login.port}")
            assert status_of(answer) == 400, query[:80]
            assert b"the login goes on" in answer and b"forged" not in answer
            assert login._state.encode() not in answer
        assert "Signed in" in sign_in(login.url, ADA, ADA_PASSWORD).text
        assert result_of(thread, out).claims["email"] == ADA  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("query", "error", "match"),
    [
        ("error=access_denied&error_description=User+cancelled", LoginRequired, "cancelled"),
        ("", ProtocolError, "no authorization code"),  # the right state, no code: ends it
        ("code=a&code=b", ProtocolError, "more than one"),
    ],
)
def test_the_right_state_ends_the_login_whatever_it_carries(
    fresh_dev: DevServer, query: str, error: type[Exception], match: str
) -> None:
    with waiting_login(fresh_dev) as (login, thread, out):
        host = f"127.0.0.1:{login.port}"
        assert status_of(raw_get(login.port, "/callback?state=stale", host)) == 400
        answer = raw_get(login.port, f"/callback?state={login._state}&{query}", host)
        assert status_of(answer) == 400 and b"Sign-in failed" in answer
        with pytest.raises(error, match=match):
            result_of(thread, out)


@pytest.mark.parametrize(
    "host",
    ["evil.example:{port}", "evil.example", "127.0.0.1", "127.0.0.1:1", "localhost.:{port}", None],
)
def test_a_foreign_host_is_refused_and_the_login_goes_on(
    fresh_dev: DevServer, host: str | None
) -> None:
    # DNS rebinding: a page on evil.example whose name now points at 127.0.0.1.
    with waiting_login(fresh_dev) as (login, thread, out):
        target = f"/callback?state={login._state}&error=access_denied"
        forged = None if host is None else host.format(port=login.port)
        assert status_of(raw_get(login.port, target, forged)) == 421
        # The real redirect still signs in, also through the other loopback name.
        final = sign_in(login.url, ADA, ADA_PASSWORD, follow=False).headers["Location"]
        real = final.split(f":{login.port}", 1)[1]
        answer = raw_get(login.port, real, f"LocalHost:{login.port}")
        assert status_of(answer) == 200 and b"Signed in" in answer
        assert result_of(thread, out).claims["email"] == ADA  # type: ignore[attr-defined]


@contextmanager
def idle_client(port: int, monkeypatch: pytest.MonkeyPatch, sent: bytes) -> Iterator[socket.socket]:
    """A client that connects, sends ``sent`` (maybe nothing) and then nothing more; yields
    once the listener has taken it on. Handlers wait a minute for a client's next byte."""
    monkeypatch.setattr(_Handler, "timeout", LONG_HANDLER_TIMEOUT)
    taken = threading.Event()
    handle = _Handler.handle

    def noted(self: _Handler) -> None:
        taken.set()
        handle(self)

    monkeypatch.setattr(_Handler, "handle", noted)
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(sent)
        assert taken.wait(15), "the listener never took the connection on"
        yield sock


SLOW = [b"", b"GET /callback?state=x HTTP/1.1\r\nHo"]


@pytest.mark.parametrize("sent", SLOW, ids=["idle", "half-sent headers"])
def test_an_idle_client_does_not_hold_the_real_redirect(
    fresh_dev: DevServer, monkeypatch: pytest.MonkeyPatch, sent: bytes
) -> None:
    with waiting_login(fresh_dev) as (login, thread, out):
        with idle_client(login.port, monkeypatch, sent):
            browser = in_thread(lambda: sign_in(login.url, ADA, ADA_PASSWORD))
            assert "Signed in" in result_of(*browser).text  # type: ignore[attr-defined]
            assert result_of(thread, out).claims["email"] == ADA  # type: ignore[attr-defined]


@pytest.mark.parametrize("sent", SLOW, ids=["idle", "half-sent headers"])
@pytest.mark.parametrize("how", ["cancel", "close"])
def test_an_idle_client_does_not_delay_a_cancel(
    fresh_dev: DevServer, monkeypatch: pytest.MonkeyPatch, sent: bytes, how: str
) -> None:
    config = loopback_config(fresh_dev)
    with AuthSession(config) as session:
        login = AuthCodeLogin.start(config, session)
        login.open_listener()
        cancel = threading.Event()
        thread, out = in_thread(lambda: login.wait(cancel=cancel, timeout=300))
        with idle_client(login.port, monkeypatch, sent) as sock:
            cancel.set() if how == "cancel" else login.close()
            thread.join(15)  # a quarter of the handler's timeout: the wait was cut short
            assert not thread.is_alive()
            assert isinstance(out[0], LoginCancelled)
            assert sock.recv(1) == b""  # the listener hung up on the idle client too
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{login.port}/callback", timeout=1)
