"""Authorization code + PKCE (S256) with a loopback redirect, and the paste fallback.

One :class:`AuthCodeLogin` is one login: a fresh ``state``, PKCE verifier and ``nonce``, the
authorize URL to open, and a listener on ``127.0.0.1`` only, on the port of the configured
``redirect_uri``. When the browser cannot reach the kernel (a remote kernel), the user pastes
the final redirect URL instead (:meth:`AuthCodeLogin.paste`). Nothing here prints.

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
"""

from __future__ import annotations

import contextlib
import html
import http.server
import queue
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeAlias
from urllib.parse import parse_qs, urlencode, urlsplit

from ._config import OktaConfig
from ._exceptions import (
    ConfigError,
    LoginCancelled,
    LoginRequired,
    LoginTimeout,
    OktaAuthError,
    ProtocolError,
)
from ._flow_base import LoginResult, discover, finish_login, token_call
from ._protocol import authorization_code_request, make_pkce
from ._session import AuthSession
from .store._select import StoreChoice

__all__ = ["AuthCodeLogin", "pkce_login"]

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
_MAX_FIELDS = 64  # a redirect has a handful of parameters; more is not Okta's
_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title>"
    "<body style='font-family:system-ui,sans-serif;margin:48px'>"
    "<h1>{title}</h1><p id=message>{text}</p></body></html>"
)
_STALE = (
    "The redirect does not belong to this login (its 'state' does not match): it may come "
    "from an older login tab. Start the login again."
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


def _query_of(url: str) -> str:
    if not isinstance(url, str):
        raise ProtocolError("Paste the address of the page after sign-in, as text.")
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise ProtocolError("That is not a URL: paste the whole address of the page.") from None
    return parts.query or parts.fragment


def _params(query: str) -> dict[str, list[str]]:
    try:
        return parse_qs(query, max_num_fields=_MAX_FIELDS)
    except ValueError:  # too many fields
        raise ProtocolError("The redirect URL has too many parameters.") from None


def _is_stray(params: dict[str, list[str]], state: str) -> bool:
    """True unless ``params`` hold exactly one ``state``, and it is this login's."""
    values = params.get("state", [])
    if len(values) != 1 or not values[0].isascii():
        return True
    return not secrets.compare_digest(values[0], state)


def _code_of(params: dict[str, list[str]]) -> str:
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


class _Listener(http.server.ThreadingHTTPServer):
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
    server: _Listener
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


class AuthCodeLogin:
    """One authorization-code + PKCE login (use :meth:`start`)."""

    def __init__(
        self,
        config: OktaConfig,
        session: AuthSession,
        authorization_endpoint: str,
        redirect_uri: str | None = None,
    ) -> None:
        self.config, self.session = config, session
        self.redirect_uri = redirect_uri or config.redirect_uri or ""
        self.port = loopback_port(self.redirect_uri)
        self._state = secrets.token_urlsafe(24)
        self._nonce = secrets.token_urlsafe(24)
        self._verifier, challenge = make_pkce()
        params = {
            "client_id": config.client_id,
            "response_type": "code",
            "response_mode": "query",
            "scope": " ".join(config.scopes),
            "redirect_uri": self.redirect_uri,
            "state": self._state,
            "nonce": self._nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        sep = "&" if "?" in authorization_endpoint else "?"
        #: The page to open in a browser (holds no secret: the verifier stays here).
        self.url = authorization_endpoint + sep + urlencode(params)
        self._pasted: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._used = False
        self._listener: _Listener | None = None

    @classmethod
    def start(
        cls, config: OktaConfig, session: AuthSession, redirect_uri: str | None = None
    ) -> AuthCodeLogin:
        """Discover the authorize endpoint and prepare a login with fresh secrets."""
        endpoint = discover(config, session).authorization_endpoint
        if not endpoint:
            raise ConfigError(f"The discovery document of {config.issuer} has no authorize URL.")
        return cls(config, session, endpoint, redirect_uri)

    def code_from_redirect(self, url: str) -> str:
        """The code in a redirect URL, after checking its ``state``; errors are raised (a
        wrong, missing or repeated ``state`` as :class:`ProtocolError`)."""
        params = _params(_query_of(url))
        if _is_stray(params, self._state):
            raise ProtocolError(_STALE)
        return _code_of(params)

    def judge(self, query: str) -> Verdict:
        """What the listener makes of a callback's query: None for a stray request (not this
        login's ``state``: the login goes on), else the code or the error that ends it."""
        try:
            params = _params(query)
        except ProtocolError:
            return None
        if _is_stray(params, self._state):
            return None
        try:
            return _code_of(params)
        except OktaAuthError as exc:
            return exc

    def open_listener(self) -> None:
        """Start listening on 127.0.0.1 (before the URL is shown, so no redirect is lost)."""
        if self._listener is None:
            path = urlsplit(self.redirect_uri).path or "/"
            self._listener = _Listener(self.port, path, self.judge)

    @property
    def listening(self) -> bool:
        """True while the loopback listener is open."""
        return self._listener is not None

    def close(self) -> None:
        """Stop listening and hang up on any client still connected (idempotent)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.server_close()

    def paste(self, url: str) -> None:
        """Hand over a redirect URL copied from the browser; a wrong one raises right away.

        A URL with a wrong ``state`` (an older login tab) is refused with
        :class:`ProtocolError` and the login keeps waiting: the user can paste the right one.
        """
        self.code_from_redirect(url)
        self._pasted.put(url)

    def wait(
        self,
        *,
        cancel: threading.Event | None = None,
        timeout: float = 300.0,
        listen: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> LoginResult:
        """Wait for the loopback redirect or a pasted URL, then exchange the code.

        ``listen=False`` waits for a paste only. Raises :class:`LoginTimeout` after
        ``timeout`` seconds and :class:`LoginCancelled` when ``cancel`` is set (or the
        listener is closed). Stray requests to the listener do not end the wait.
        """
        with self._lock:
            if self._used:
                raise ProtocolError("This login already ran; start a new one.")
            self._used = True
        cancel = cancel or threading.Event()
        try:
            if listen:
                self.open_listener()
            code = self._await_code(self._listener, cancel, clock() + timeout, clock)
        finally:
            self.close()
        return self.exchange(code)

    def _await_code(
        self,
        listener: _Listener | None,
        cancel: threading.Event,
        deadline: float,
        clock: Callable[[], float],
    ) -> str:
        while True:
            if cancel.is_set():
                raise LoginCancelled("The login was cancelled.")
            verdict: Verdict = None
            with contextlib.suppress(queue.Empty):
                verdict = self.code_from_redirect(self._pasted.get_nowait())
            if verdict is None and listener is None:
                cancel.wait(0.1)
            elif verdict is None and listener is not None:
                verdict = listener.serve_once()
            if isinstance(verdict, OktaAuthError):
                raise verdict
            if verdict is not None:
                return verdict
            if clock() > deadline:
                raise LoginTimeout(
                    "No sign-in arrived in time (a closed tab?). Start the login again; if the "
                    "page after sign-in could not be reached, paste its address instead."
                )

    def exchange(self, code: str) -> LoginResult:
        """Exchange the code (with the PKCE verifier) and verify the ID token's nonce."""
        endpoint = discover(self.config, self.session).token_endpoint
        request = authorization_code_request(
            self.config, endpoint, code, self.redirect_uri, self._verifier
        )
        tokens = token_call(self.session, request, "authorization_code")
        return finish_login(self.config, self.session, tokens, flow="pkce", nonce=self._nonce)

    def __repr__(self) -> str:
        return f"AuthCodeLogin(redirect_uri={self.redirect_uri!r})"


def pkce_login(
    config: OktaConfig,
    *,
    session: AuthSession | None = None,
    on_url: Callable[[str], object] | None = None,
    open_browser: bool = False,
    cancel: threading.Event | None = None,
    timeout: float = 300.0,
    store: StoreChoice = None,
) -> LoginResult:
    """Log in with authorization code + PKCE through a loopback redirect.

    ``on_url`` receives the page to open; ``open_browser`` also opens it with
    :mod:`webbrowser`. Returns once the redirect arrived and the code was exchanged.
    ``store``: where a new session keeps the login (see :meth:`AuthSession.from_store`).
    """
    own = session is None
    active = AuthSession(config, store=store) if session is None else session
    try:
        login = AuthCodeLogin.start(config, active)
        login.open_listener()
        try:
            if on_url is not None:
                on_url(login.url)
            if open_browser:
                import webbrowser

                webbrowser.open(login.url)
            return login.wait(cancel=cancel, timeout=timeout)
        finally:
            login.close()
    except BaseException:
        if own:
            active.close()
        raise
