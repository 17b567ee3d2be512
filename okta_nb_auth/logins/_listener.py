"""The loopback listener of the PKCE login: an HTTP server on ``127.0.0.1`` that waits for the
browser's redirect, and the parsing of redirect URLs (:mod:`._pkce` runs the login itself).

Any web page can make a browser send requests to 127.0.0.1, so the listener trusts only the
redirect that carries this login's ``state``:

* a ``Host`` other than ``127.0.0.1:PORT`` or ``localhost:PORT`` (DNS rebinding) gets 421;
* on the callback path, a ``state`` that is missing, repeated, wrong or not ASCII marks a
  stray request: it gets a 400 page and the login keeps waiting for the real redirect;
* the first request with the right ``state`` ends the login, whatever it carries: its code,
  Okta's error (``access_denied`` when the user cancelled: :class:`LoginRequired`), or a
  :class:`ProtocolError` when it has no code (only the authorize page knew the state, so no
  better redirect will come).

Each connection is served on a daemon thread of its own: an idle or slow client holds
neither the real redirect nor a cancel, and closing the listener hangs up on every client.
Nothing here prints.
"""

from __future__ import annotations

import contextlib
import html
import http.server
import queue
import secrets
import socket
import threading
from collections.abc import Callable
from typing import TypeAlias
from urllib.parse import parse_qs, urlsplit

from .._exceptions import ConfigError, LoginCancelled, LoginRequired, OktaAuthError, ProtocolError

__all__ = [
    "Listener",
    "Verdict",
    "code_of",
    "is_stray",
    "loopback_port",
    "query_of",
    "redirect_params",
]

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
_MAX_FIELDS = 64  # a redirect has a handful of parameters; more is not Okta's
_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title>"
    "<body style='font-family:system-ui,sans-serif;margin:48px'>"
    "<h1>{title}</h1><p id=message>{text}</p></body></html>"
)
_STRAY = (
    "This request does not carry the state of the login waiting here (a stray request, or "
    "an older login tab), so it was ignored and the login goes on."
)
_DONE = "You can close this tab and return to your notebook."
#: What a redirect means for the login: its code, the error that ends it, or None (stray).
Verdict: TypeAlias = "str | OktaAuthError | None"


def loopback_port(redirect_uri: str | None) -> int:
    """The port of an ``http://127.0.0.1:PORT/...`` (or ``localhost``) redirect URI."""
    parts = urlsplit(redirect_uri or "")
    if parts.scheme != "http" or parts.hostname not in _LOOPBACK_HOSTS or not parts.port:
        raise ConfigError(
            f"The redirect URI {redirect_uri!r} is not a loopback address with a port, such as "
            "'http://127.0.0.1:8765/callback'. Register one on the Okta app (Sign-in redirect "
            "URIs) and set OktaConfig(redirect_uri=...), or use the device flow."
        )
    return parts.port


def query_of(url: str) -> str:
    if not isinstance(url, str):
        raise ProtocolError("Paste the address of the page after sign-in, as text.")
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise ProtocolError("That is not a URL: paste the whole address of the page.") from None
    return parts.query or parts.fragment


def redirect_params(query: str) -> dict[str, list[str]]:
    try:
        return parse_qs(query, max_num_fields=_MAX_FIELDS)
    except ValueError:  # too many fields
        raise ProtocolError("The redirect URL has too many parameters.") from None


def is_stray(params: dict[str, list[str]], state: str) -> bool:
    """True unless ``params`` hold exactly one ``state``, and it is this login's."""
    values = params.get("state", [])
    if len(values) != 1 or not values[0].isascii():
        return True
    return not secrets.compare_digest(values[0], state)


def code_of(params: dict[str, list[str]]) -> str:
    """The code of the real redirect (its state checked already), or the error it carries."""
    if "error" in params:
        error = params["error"][0][:100]
        text = (params.get("error_description") or [error])[0][:300]
        raise LoginRequired(f"The sign-in did not complete: {text}", error=error)
    codes = params.get("code", [])
    if len(codes) != 1:
        many = "more than one authorization code" if codes else "no authorization code"
        raise ProtocolError(f"The redirect URL carries {many}.")
    return codes[0]


class Listener(http.server.ThreadingHTTPServer):
    """Serves the callback on 127.0.0.1, each connection on a daemon thread; the first
    request with the right ``state`` puts its verdict in ``outcomes``."""

    timeout = 0.1
    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, path: str, judge: Callable[[str], Verdict]) -> None:
        self.path, self.judge = path, judge
        self.hosts = {f"{host}:{port}" for host in _LOOPBACK_HOSTS}
        self.outcomes: queue.Queue[str | OktaAuthError] = queue.Queue()
        self.lock = threading.Lock()
        self.clients: set[socket.socket] = set()
        self.closed = self.claimed = False
        try:
            super().__init__(("127.0.0.1", port), _Handler)
        except OSError as exc:
            raise ConfigError(
                f"Cannot listen on 127.0.0.1:{port} for the login redirect ({exc.strerror}): "
                "another login may be running. Finish or cancel it, or paste the redirect URL."
            ) from None

    def serve_once(self) -> Verdict:
        """Accept what arrives within ``timeout``; the real redirect's verdict, once it came."""
        if not self.closed:
            with contextlib.suppress(OSError, ValueError):  # closed by another thread
                self.handle_request()
        try:
            return self.outcomes.get_nowait()
        except queue.Empty:
            if self.closed:
                raise LoginCancelled("The login was cancelled (its listener closed).") from None
            return None

    def claim(self) -> bool:
        """True for the first caller only: the one redirect that ends the login."""
        with self.lock:
            first, self.claimed = not self.claimed, True
        return first

    def track(self, client: socket.socket, *, done: bool = False) -> None:
        """Remember an open client (to hang up on at close), or forget it when ``done``."""
        with self.lock:
            if done:
                self.clients.discard(client)
            elif self.closed:
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
            else:
                self.clients.add(client)

    def server_close(self) -> None:
        with self.lock:
            self.closed, clients = True, list(self.clients)
        super().server_close()
        for client in clients:  # a blocked read sees the end at once, so its thread ends
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        """Silent: a client that hung up is not our problem, and nothing here prints."""


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Listener
    timeout = 5.0  # an idle client's thread ends after this, or when the listener closes

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, done=True)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or hosts[0].strip().lower() not in self.server.hosts:
            self._reply(421, "Wrong address", "This login listener answers 127.0.0.1 only.")
        elif path != self.server.path:
            self._reply(404, "Not found", "This is the login listener of okta-nb-auth.")
        else:
            self._answer(self.server.judge(query))

    def _answer(self, verdict: Verdict) -> None:
        if verdict is None:
            self._reply(400, "Not this login", _STRAY)
        elif not self.server.claim():
            self._reply(400, "Already signed in", "This login already got its redirect.")
        else:
            try:
                if isinstance(verdict, OktaAuthError):
                    self._reply(400, "Sign-in failed", f"{verdict} Return to your notebook.")
                else:
                    self._reply(200, "Signed in", _DONE)
            finally:  # after the page went out, so closing the listener cannot cut it
                self.server.outcomes.put(verdict)

    def _reply(self, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the request line holds the authorization code."""
