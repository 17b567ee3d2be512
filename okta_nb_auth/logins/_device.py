"""Login flows that send and wait: here the device authorization grant (RFC 8628).

Nothing here prints. Progress is reported through callbacks (``on_code``, ``on_poll``), so a
widget, a terminal or a test can show it. Waiting goes through :class:`Waiter`: by default a
``threading.Event`` wait that a cancel cuts short; tests inject ``sleep`` and ``clock``.
Every flow ends with :func:`finish_login` (:mod:`._base`): the ID token is verified, then the
tokens are set on an :class:`~okta_nb_auth.AuthSession` (a new one, or the caller's, which a
re-login resumes). Authorization code + PKCE is in :mod:`._pkce`.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._config import OktaConfig
from .._exceptions import (
    LoginRequired,
    LoginTimeout,
    OktaAuthError,
    ProtocolError,
    RateLimited,
    TransientError,
)
from .._models import TokenSet
from .._protocol import (
    DEVICE_CODE_GRANT,
    device_authorize_request,
    device_code_request,
    error_from_response,
    json_body,
)
from .._session import AuthSession
from ..store._select import StoreChoice
from ._base import LoginResult, Waiter, discover, finish_login, send, token_call

__all__ = [
    "DeviceCode",
    "LoginResult",
    "PollStatus",
    "Waiter",
    "device_login",
    "finish_login",
    "poll_device",
    "start_device",
]

#: RFC 8628 §3.5: the polling interval when the server names none, and the slow_down step.
DEFAULT_INTERVAL = 5.0
SLOW_DOWN_STEP = 5.0
#: Consecutive network failures tolerated while polling (with backoff) before giving up.
MAX_POLL_FAILURES = 5


@dataclass(frozen=True)
class DeviceCode:
    """What the user needs to approve a device login; ``device_code`` itself is never shown."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float
    device_code: str = field(repr=False)

    @property
    def link(self) -> str:
        """The page to open: with the code filled in when the server offers that."""
        return self.verification_uri_complete or self.verification_uri


@dataclass(frozen=True)
class PollStatus:
    """One poll's outcome: ``state`` is ``pending``, ``slow_down`` or ``retrying``."""

    state: str
    interval: float
    seconds_left: float


# ------------------------------------------------------------------ device authorization


def _number(body: Mapping[str, Any], key: str, default: float | None) -> float:
    value = body.get(key, default)
    number = -1.0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # an integer beyond any float
            number = float(value)
    if not 0 <= number < math.inf:  # NaN and infinity (JSON's 1e999) included
        raise ProtocolError(f"The device authorization response's {key!r} is not a number.")
    return number


def start_device(config: OktaConfig, session: httpx.Client) -> DeviceCode:
    """Ask for a device code and user code (RFC 8628 §3.1-3.2)."""
    metadata = discover(config, session)
    endpoint = metadata.endpoint("device_authorization_endpoint")
    response = send(session, device_authorize_request(config, endpoint))
    if not response.is_success:
        raise error_from_response(response, time.time(), DEVICE_CODE_GRANT)
    body = json_body(response)
    if not isinstance(body, dict):
        raise ProtocolError("The device authorization response is not a JSON object.")
    strings = {}
    for key in ("device_code", "user_code", "verification_uri"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise ProtocolError(f"The device authorization response lacks {key!r}.")
        strings[key] = body[key]
    complete = body.get("verification_uri_complete")
    return DeviceCode(
        user_code=strings["user_code"],
        verification_uri=strings["verification_uri"],
        verification_uri_complete=complete if isinstance(complete, str) and complete else None,
        expires_in=_number(body, "expires_in", None),
        interval=_number(body, "interval", DEFAULT_INTERVAL),
        device_code=strings["device_code"],
    )


def _terminal(exc: OktaAuthError) -> OktaAuthError | None:
    """The error to raise for a final poll answer, or None to keep polling."""
    if exc.error == "access_denied":
        return LoginRequired(
            "The sign-in was denied on the activation page. Start the login again to retry.",
            error=exc.error,
            error_description=exc.error_description,
            status_code=exc.status_code,
        )
    if exc.error in ("expired_token", "invalid_grant"):
        return LoginTimeout(
            "The code expired before the sign-in was approved. Start the login again for a "
            "new code.",
            error=exc.error,
            error_description=exc.error_description,
            status_code=exc.status_code,
        )
    return None


def poll_device(
    config: OktaConfig,
    session: AuthSession,
    code: DeviceCode,
    *,
    waiter: Waiter | None = None,
    on_poll: Callable[[PollStatus], object] | None = None,
) -> TokenSet:
    """Poll the token endpoint until the user approves (RFC 8628 §3.4-3.5).

    Waits ``interval`` before each poll; ``slow_down`` adds 5 s for good; a network failure or
    a 5xx waits twice as long (a 429 until the limit resets), up to 5 times in a row.
    ``authorization_pending`` keeps polling; ``access_denied`` raises :class:`LoginRequired`;
    ``expired_token`` raises :class:`LoginTimeout`, and so does our own deadline (``expires_in``
    on ``waiter.clock``): never waited past, so a wait that would end after it (a 429's reset,
    a grown ``slow_down`` interval) raises at once instead.
    """
    waiter = waiter or Waiter()
    token_endpoint = discover(config, session).token_endpoint
    interval, delay, failures = code.interval, code.interval, 0
    deadline = waiter.clock() + code.expires_in
    while True:
        _before_expiry(delay, deadline - waiter.clock())
        waiter.pause(delay)
        if waiter.clock() > deadline:
            raise LoginTimeout(
                "The code expired before the sign-in was approved. Start the login again."
            )
        delay = interval
        try:
            request = device_code_request(config, token_endpoint, code.device_code)
            return token_call(session, request, DEVICE_CODE_GRANT)
        except OktaAuthError as exc:
            final = _terminal(exc)
            if final is not None:
                raise final from exc
            if exc.error == "authorization_pending":
                state, failures = "pending", 0
            elif exc.error == "slow_down":
                interval += SLOW_DOWN_STEP
                state, delay, failures = "slow_down", interval, 0
            elif isinstance(exc, TransientError) and failures < MAX_POLL_FAILURES:
                failures += 1
                state, delay = "retrying", _backoff(exc, interval, failures)
            else:
                raise
        if on_poll is not None:
            on_poll(PollStatus(state, delay, deadline - waiter.clock()))


def _before_expiry(delay: float, seconds_left: float) -> None:
    """Raise :class:`LoginTimeout` when a wait of ``delay`` would end after the code expired
    (or is no number at all): the poll after it could only be refused."""
    if not delay < seconds_left:
        raise LoginTimeout(
            "The code expires before the next poll is allowed (Okta asked to wait "
            f"{delay:.0f} s, the code has {max(seconds_left, 0):.0f} s left). Start the login "
            "again for a new code."
        )


def _backoff(exc: TransientError, interval: float, failures: int) -> float:
    retry_at = exc.retry_at if isinstance(exc, RateLimited) else None
    if retry_at is not None and math.isfinite(retry_at):
        return max(retry_at - time.time(), interval)
    return float(max(interval, 1.0) * 2**failures)


def device_login(
    config: OktaConfig,
    *,
    session: AuthSession | None = None,
    cancel: threading.Event | None = None,
    on_code: Callable[[DeviceCode], object] | None = None,
    on_poll: Callable[[PollStatus], object] | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
    store: StoreChoice = None,
) -> LoginResult:
    """Log in with the device authorization grant and return the signed-in session.

    ``on_code`` receives the :class:`DeviceCode` to show (link and user code); ``on_poll``
    each :class:`PollStatus`. Set ``cancel`` to stop (raises :class:`LoginCancelled`).
    ``session``: an :class:`AuthSession` to put the tokens on (a re-login resumes it).
    ``store``: where a new session keeps the login (see :meth:`AuthSession.from_store`).
    """
    own = session is None
    active = AuthSession(config, store=store) if session is None else session
    try:
        code = start_device(config, active)
        if on_code is not None:
            on_code(code)
        waiter = Waiter(cancel, sleep, clock)
        tokens = poll_device(config, active, code, waiter=waiter, on_poll=on_poll)
        return finish_login(config, active, tokens, flow="device")
    except BaseException:
        if own:
            active.close()
        raise
