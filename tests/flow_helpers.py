"""Helpers for the login-flow tests: a free loopback port and a scripted browser."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable

import httpx

from okta_nb_auth import OktaConfig
from okta_nb_auth.devserver import DevServer

TXN = re.compile(r'name=txn value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def loopback_config(dev: DevServer) -> OktaConfig:
    """The native app with a redirect URI on a free port (tests never fight over 8765)."""
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    dev.configure_app("native", redirect_uris=[redirect, "http://127.0.0.1:8765/callback"])
    return dev.config("native")


def sign_in(url: str, user: str, password: str, *, follow: bool = True) -> httpx.Response:
    """Act as the browser: open the authorize URL, submit the sign-in form, follow the 302
    to the loopback listener (when ``follow``). Returns the last response."""
    with httpx.Client(timeout=5) as browser:
        page = browser.get(url)
        match = TXN.search(page.text)
        assert match, page.text
        form = {"txn": match.group(1), "username": user, "password": password, "action": "signin"}
        answer = browser.post(url, data=form)
        if answer.status_code != 302 or not follow:
            return answer
        return browser.get(answer.headers["Location"])


def raw_get(port: int, target: str, host: str | None = None, *, timeout: float = 5.0) -> bytes:
    """Send one hand-made GET to the listener (``host=None``: no Host header at all) and
    return the whole answer, read until the listener hangs up."""
    head = f"GET {target} HTTP/1.1\r\n" + (f"Host: {host}\r\n" if host is not None else "")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall((head + "Connection: close\r\n\r\n").encode("latin-1"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer."""
    return int(answer.split(b" ", 2)[1])


def in_thread(target: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Run ``target`` in a thread; its return value or exception lands in the list."""
    out: list[object] = []

    def run() -> None:
        try:
            out.append(target())
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def result_of(thread: threading.Thread, out: list[object], timeout: float = 30.0) -> object:
    """Join a thread from :func:`in_thread` and return what its target returned (its
    exception is raised here, in the test, instead of lost with the thread)."""
    thread.join(timeout)
    assert not thread.is_alive(), f"the helper thread is still running after {timeout} s"
    [value] = out
    if isinstance(value, Exception):
        raise value
    return value
