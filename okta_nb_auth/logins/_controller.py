"""The state machine behind the login widget, without any UI (so it is testable headless).

One :class:`LoginController` keeps one :class:`~okta_nb_auth.AuthSession` across logins (a
re-login resumes it) and runs at most one login at a time: :meth:`prepare` does the quick
part on the caller's thread (device code, or authorize URL and loopback listener), and
:meth:`launch` waits for the user on a background thread. Every change calls ``on_change``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable

from .._config import OktaConfig
from .._exceptions import LoginCancelled, LoginRequired, OktaAuthError
from .._models import TokenSet
from .._presenter import describe_user
from .._session import AuthSession
from ..store._base import TokenStore
from ._choose import FlowChoice
from ._device import DeviceCode, LoginResult, PollStatus, Waiter, finish_login, poll_device
from ._device import start_device as _start_device
from ._pkce import AuthCodeLogin
from ._text import STORED_USER, LoginView, ago_text

__all__ = ["LoginController"]

#: Running controllers: a newer login of the same app stops older ones (re-run cells).
_ACTIVE: weakref.WeakSet[LoginController] = weakref.WeakSet()
_POLL_TEXT = {
    "pending": "Waiting for you to sign in on the page…",
    "slow_down": "Okta asked to poll less often; still waiting for you to sign in…",
    "retrying": "Okta could not be reached; retrying…",
}


class _Attempt:
    """One login: its cancel event, its thread, its outcome."""

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None
        self.code: DeviceCode | None = None
        self.pkce: AuthCodeLogin | None = None
        self.deadline: float | None = None
        self.result: LoginResult | None = None
        self.error: BaseException | None = None


class LoginController:
    """Run logins for one widget; ``view()`` is a secret-free snapshot to render."""

    def __init__(
        self,
        config: OktaConfig,
        choice: FlowChoice,
        *,
        on_change: Callable[[], object],
        session: AuthSession | None = None,
        timeout: float = 600.0,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        store: TokenStore | None = None,
        presenter: bool = False,
    ) -> None:
        self.config, self.choice, self.timeout, self.store = config, choice, timeout, store
        self.presenter = presenter  # presenter mode: view() asks for masked rendering
        self._on_change, self._sleep, self._clock = on_change, sleep, clock
        self.lock = threading.RLock()
        self.session: AuthSession | None = None
        self.attempt: _Attempt | None = None
        self.state, self.message, self.user = "idle", "", ""
        self.refreshes = 0
        if session is not None:
            self._adopt(session)

    # ---------------------------------------------------------------- starting

    def _adopt(self, session: AuthSession) -> None:
        """Use ``session`` for every login, counting its refreshes for the status line."""
        auth = session.okta_auth
        previous = auth.on_tokens

        def counted(tokens: TokenSet) -> None:
            self.refreshes += 1
            if previous is not None:
                previous(tokens)

        auth.on_tokens = counted
        self.session = session

    def prepare(self) -> bool:
        """The quick part of a login; False when one is already running or it failed."""
        with self.lock:
            if self.attempt is not None and not self.attempt.done.is_set():
                return False  # a second click on "Log in" while a login runs
            attempt = self.attempt = _Attempt()
            self.state, self.message = "starting", ""
        for other in list(_ACTIVE):
            if other is not self and other.config.client_id == self.config.client_id:
                other.cancel()
        _ACTIVE.add(self)
        self._on_change()
        if self.session is None:
            self._adopt(AuthSession(self.config, store=self.store))
        assert self.session is not None
        try:
            if self.choice.flow == "device":
                attempt.code = _start_device(self.config, self.session)
                attempt.deadline = self._clock() + attempt.code.expires_in
            else:
                attempt.pkce = AuthCodeLogin.start(self.config, self.session)
                self._listen(attempt.pkce)
        except OktaAuthError as exc:
            self._end(attempt, exc)
            return False
        with self.lock:
            self.state = "waiting"
        self._on_change()
        return True

    def resume(self) -> bool:
        """Sign in from the token store, with no flow at all (after a kernel restart, or a
        login in another process); False when the store holds no usable login."""
        if self.store is None or self.session is not None:  # a given session is the caller's
            return False
        try:
            session = AuthSession.from_store(self.config, store=self.store)
        except LoginRequired:
            return False
        self._adopt(session)
        auth, now = session.okta_auth, time.time()
        entry = auth.stored
        used = (
            f" the refresh token was last used {ago_text(now - entry.refreshed_at)}"
            if entry
            else ""
        )
        with self.lock:
            self.user = describe_user(auth.id_claims) if auth.id_claims else STORED_USER
            self.state = "signed_in"
            self.message = f"The tokens came from the token store ({self.store.location});{used}."
        self._on_change()
        return True

    def _listen(self, pkce: AuthCodeLogin) -> None:
        try:
            pkce.open_listener()
        except OktaAuthError as exc:  # the port is taken: the paste fallback still works
            self.message = f"{exc}"

    def launch(self) -> None:
        """Wait for the user on a background (daemon) thread."""
        attempt = self.current()
        attempt.thread = threading.Thread(
            target=self._run, args=(attempt,), name="okta-login", daemon=True
        )
        attempt.thread.start()

    def _run(self, attempt: _Attempt) -> None:
        session = self.session
        assert session is not None
        try:
            if attempt.code is not None:
                waiter = Waiter(attempt.cancel, self._sleep, self._clock)
                tokens = poll_device(
                    self.config, session, attempt.code, waiter=waiter, on_poll=self._polled
                )
                result = finish_login(self.config, session, tokens, flow="device")
            else:
                assert attempt.pkce is not None
                listen = attempt.pkce.listening
                wait = attempt.pkce.wait
                result = wait(cancel=attempt.cancel, timeout=self.timeout, listen=listen)
        except Exception as exc:
            self._end(attempt, exc)
        else:
            self._end(attempt, result)

    def _end(self, attempt: _Attempt, outcome: LoginResult | BaseException) -> None:
        with self.lock:
            if isinstance(outcome, LoginResult):
                attempt.result, self.refreshes = outcome, 0
                self.user = outcome.user
                state, message = "signed_in", ""
            else:
                attempt.error = outcome
                cancelled = isinstance(outcome, LoginCancelled)
                state, message = ("cancelled", "") if cancelled else ("failed", str(outcome))
            if attempt is self.attempt and self.state != "logged_out":
                self.state, self.message = state, message
            attempt.done.set()
        self._on_change()

    def _polled(self, status: PollStatus) -> None:
        self.message = _POLL_TEXT.get(status.state, "")
        self._on_change()

    # ---------------------------------------------------------------- stopping

    def cancel(self) -> None:
        """Stop a running login; its thread ends within a few tenths of a second."""
        attempt = self.attempt
        if attempt is None or attempt.done.is_set():
            return
        attempt.cancel.set()
        if attempt.thread is None:
            if attempt.pkce is not None:
                attempt.pkce.close()
            self._end(attempt, LoginCancelled("The login was cancelled."))
        elif attempt.thread is not threading.current_thread():
            attempt.thread.join(2.0)

    def logout(self) -> None:
        """Stop any login, revoke the tokens at Okta and forget them."""
        self.cancel()
        message = ""
        session = self.session
        if session is not None and session.tokens is not None:
            try:
                session.logout()
            except OktaAuthError as exc:
                message = f"Logged out here, but Okta could not revoke the tokens: {exc}"
        with self.lock:
            self.attempt, self.user = None, ""
            self.state, self.message = "logged_out", message
        self._on_change()

    # ---------------------------------------------------------------- outcome

    def current(self) -> _Attempt:
        """The latest attempt, or :class:`LoginRequired` when there is none."""
        attempt = self.attempt
        if attempt is None:
            raise LoginRequired("Not signed in: click Log in (or call widget.start()) first.")
        return attempt

    def outcome(self) -> AuthSession | None:
        """The session once signed in; None while waiting; the login's error if it failed."""
        if self.attempt is None and self.state == "signed_in":
            return self.session  # resumed from the store
        attempt = self.current()
        if not attempt.done.is_set():
            return None
        if attempt.result is not None and self.session is not None:
            return self.session
        if attempt is self.attempt and attempt.error is not None:
            raise attempt.error
        return None

    def paste(self, url: str) -> None:
        """The paste fallback: hand a redirect URL to the waiting PKCE login."""
        attempt = self.attempt
        if attempt is None or attempt.pkce is None or attempt.done.is_set():
            self.message = "There is no browser login waiting for an address: click Log in."
        else:
            try:
                attempt.pkce.paste(url)
                self.message = "Got the address; finishing the sign-in…"
            except OktaAuthError as exc:
                self.message = f"{exc}"
        self._on_change()

    def check_session(self) -> None:
        """Notice a refresh that failed with :class:`LoginRequired` (then: a re-login prompt)."""
        session = self.session
        if self.state not in ("signed_in", "relogin") or session is None:
            return
        failure = session.okta_auth.last_error  # kept until tokens are stored again
        if self.state == "relogin":
            if failure is None and session.tokens is not None:  # a newer login was adopted
                self.state, self.message = "signed_in", "A newer login came from the token store."
            return
        if isinstance(failure, LoginRequired):
            self.state, self.message = "relogin", str(failure)
        elif session.tokens is None:
            self.state, self.message = "logged_out", "The session was logged out."

    def view(self) -> LoginView:
        """A snapshot for rendering: no token, no verifier, no device code."""
        attempt, session = self.attempt, self.session
        code = attempt.code if attempt is not None else None
        link = code.link if code is not None else None
        if attempt is not None and attempt.pkce is not None:
            link = attempt.pkce.url
        left = None
        if attempt is not None and attempt.deadline is not None:
            left = attempt.deadline - self._clock()
        tokens = session.tokens if session is not None else None
        return LoginView(
            flow=self.choice.flow,
            reason=self.choice.reason,
            state=self.state,
            message=self.message,
            link=link,
            user_code=code.user_code if code is not None else None,
            code_valid_for=code.expires_in if code is not None else None,
            seconds_left=left,
            user=self.user,
            token_seconds_left=tokens.expires_in() if tokens is not None else None,
            refreshes=self.refreshes,
            presenter=self.presenter,
        )
