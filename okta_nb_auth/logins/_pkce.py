"""Authorization code + PKCE (S256) with a loopback redirect, and the paste fallback.

One :class:`AuthCodeLogin` is one login: a fresh ``state``, PKCE verifier and ``nonce``, the
authorize URL to open, and a listener on ``127.0.0.1`` only (:mod:`._listener`, which says
what it trusts), on the port of the configured ``redirect_uri``. When the browser cannot reach
the kernel (a remote kernel), the user pastes the final redirect URL instead
(:meth:`AuthCodeLogin.paste`). When the server offers pushed authorization requests (Okta's
``/v1/par``, RFC 9126), the request is pushed first and the URL carries only ``client_id`` and
``request_uri`` (:mod:`._par`). Nothing here prints.
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import threading
import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from .._config import OktaConfig
from .._exceptions import ConfigError, LoginCancelled, LoginTimeout, OktaAuthError, ProtocolError
from .._protocol import authorization_code_request, make_pkce
from .._session import AuthSession
from ..store._select import StoreChoice
from ._base import LoginResult, discover, finish_login, token_call
from ._listener import (
    Listener,
    Verdict,
    code_of,
    is_stray,
    loopback_port,
    query_of,
    redirect_params,
)
from ._par import push_authorization, request_uri_url

__all__ = ["AuthCodeLogin", "pkce_login"]

_STALE = (
    "The redirect does not belong to this login (its 'state' does not match): it may come "
    "from an older login tab. Start the login again."
)


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
        self._endpoint, self._params = authorization_endpoint, params
        sep = "&" if "?" in authorization_endpoint else "?"
        #: The page to open in a browser (holds no secret: the verifier stays here).
        self.url = authorization_endpoint + sep + urlencode(params)
        self._pasted: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._used = False
        self._listener: Listener | None = None

    @classmethod
    def start(
        cls, config: OktaConfig, session: AuthSession, redirect_uri: str | None = None
    ) -> AuthCodeLogin:
        """Discover the authorize endpoint and prepare a login with fresh secrets; push it
        to the server's PAR endpoint when the discovery document names one."""
        metadata = discover(config, session)
        endpoint = metadata.authorization_endpoint
        if not endpoint:
            raise ConfigError(f"The discovery document of {config.issuer} has no authorize URL.")
        login = cls(config, session, endpoint, redirect_uri)
        if metadata.pushed_authorization_request_endpoint:
            login.push(metadata.pushed_authorization_request_endpoint)
        return login

    def push(self, par_endpoint: str) -> None:
        """Push this login's request to ``par_endpoint`` (RFC 9126) with the session's client
        and authentication; :attr:`url` then carries only ``client_id`` and ``request_uri``."""
        uri = push_authorization(self.config, self.session, par_endpoint, self._params)
        self.url = request_uri_url(self._endpoint, self.config.client_id, uri)

    def code_from_redirect(self, url: str) -> str:
        """The code in a redirect URL, after checking its ``state``; errors are raised (a
        wrong, missing or repeated ``state`` as :class:`ProtocolError`)."""
        params = redirect_params(query_of(url))
        if is_stray(params, self._state):
            raise ProtocolError(_STALE)
        return code_of(params)

    def judge(self, query: str) -> Verdict:
        """What the listener makes of a callback's query: None for a stray request (not this
        login's ``state``: the login goes on), else the code or the error that ends it."""
        try:
            params = redirect_params(query)
        except ProtocolError:
            return None
        if is_stray(params, self._state):
            return None
        try:
            return code_of(params)
        except OktaAuthError as exc:
            return exc

    def open_listener(self) -> None:
        """Start listening on 127.0.0.1 (before the URL is shown, so no redirect is lost)."""
        if self._listener is None:
            path = urlsplit(self.redirect_uri).path or "/"
            self._listener = Listener(self.port, path, self.judge)

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
        listener: Listener | None,
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
