"""Authorization code + PKCE (S256) with a loopback redirect, and the paste fallback.

One :class:`AuthCodeLogin` is one login: a fresh ``state``, PKCE verifier and ``nonce``, the
authorize URL to open, and a listener on ``127.0.0.1`` only, on the port of the configured
``redirect_uri``. The listener answers exactly one request on the callback path, then closes;
the ``state`` it carries must match. When the browser cannot reach the kernel (a remote
kernel), the user pastes the final redirect URL instead (:meth:`AuthCodeLogin.paste`).
Nothing here prints.
"""

from __future__ import annotations

import html
import http.server
import queue
import secrets
import threading
import time
from collections.abc import Callable
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
_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title>"
    "<body style='font-family:system-ui,sans-serif;margin:48px'>"
    "<h1>{title}</h1><p id=message>{text}</p></body></html>"
)


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


class _Listener(http.server.HTTPServer):
    """Serves one callback request on 127.0.0.1; ``outcome`` is the code or the error."""

    timeout = 0.1

    def __init__(self, port: int, path: str, check: Callable[[str], str]) -> None:
        self.path, self.check = path, check
        self.outcome: str | OktaAuthError | None = None
        try:
            super().__init__(("127.0.0.1", port), _Handler)
        except OSError as exc:
            raise ConfigError(
                f"Cannot listen on 127.0.0.1:{port} for the login redirect ({exc.strerror}): "
                "another login may be running. Finish or cancel it, or paste the redirect URL."
            ) from None


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Listener
    timeout = 5.0  # a browser's idle pre-connect must not hold the listener for long

    def do_GET(self) -> None:
        if urlsplit(self.path).path != self.server.path or self.server.outcome is not None:
            self._reply(404, "Not found", "This is the login listener of okta-nb-auth.")
            return
        try:
            self.server.outcome = self.server.check(f"http://127.0.0.1{self.path}")
        except OktaAuthError as exc:
            self.server.outcome = exc
            self._reply(400, "Sign-in failed", f"{exc} Return to your notebook.")
            return
        self._reply(200, "Signed in", "You can close this tab and return to your notebook.")

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
        """The code in a redirect URL, after checking its ``state``; errors are raised."""
        parts = urlsplit(url.strip())
        params = {k: v[0] for k, v in parse_qs(parts.query or parts.fragment).items()}
        if not secrets.compare_digest(params.get("state", ""), self._state):
            raise ProtocolError(
                "The redirect does not belong to this login (its 'state' does not match): it may "
                "come from an older login tab. Start the login again."
            )
        if "error" in params:
            text = params.get("error_description") or params["error"]
            raise LoginRequired(f"The sign-in did not complete: {text}", error=params["error"])
        code = params.get("code")
        if not code:
            raise ProtocolError("The redirect URL carries no authorization code.")
        return code

    def open_listener(self) -> None:
        """Start listening on 127.0.0.1 (before the URL is shown, so no redirect is lost)."""
        if self._listener is None:
            path = urlsplit(self.redirect_uri).path or "/"
            self._listener = _Listener(self.port, path, self.code_from_redirect)

    @property
    def listening(self) -> bool:
        """True while the loopback listener is open."""
        return self._listener is not None

    def close(self) -> None:
        """Stop listening (idempotent)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.server_close()

    def paste(self, url: str) -> None:
        """Hand over a redirect URL copied from the browser; a wrong one raises right away."""
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
        ``timeout`` seconds and :class:`LoginCancelled` when ``cancel`` is set.
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
            try:
                return self.code_from_redirect(self._pasted.get_nowait())
            except queue.Empty:
                pass
            if listener is None:
                cancel.wait(0.1)
            else:
                listener.handle_request()
                if isinstance(listener.outcome, OktaAuthError):
                    raise listener.outcome
                if listener.outcome is not None:
                    return listener.outcome
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
