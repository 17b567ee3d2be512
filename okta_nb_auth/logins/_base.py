"""What every login flow shares: sending, discovery, cancellable waiting, and the finish
(the ID token verified against the server's clock, then the tokens set on an AuthSession).

Nothing here prints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .._config import OktaConfig
from .._discovery import ServerMetadata, discovery_flow
from .._drive import network_error, run_sync
from .._exceptions import ConfigError, LoginCancelled
from .._models import TokenSet
from .._presenter import describe_user
from .._protocol import parse_token_response, server_skew
from .._session import AuthSession
from .._trust import send_own

__all__ = [
    "LoginResult",
    "Waiter",
    "discover",
    "finish_login",
    "send",
    "token_call",
]


@dataclass(frozen=True, repr=False)
class LoginResult:
    """A finished login: the session holding the tokens and the verified ID-token claims."""

    session: AuthSession
    claims: Mapping[str, Any]
    flow: str

    @property
    def user(self) -> str:
        """Who signed in, for people: ``Name <email>``, or whichever of the two exists."""
        return describe_user(self.claims)

    def __repr__(self) -> str:
        return f"LoginResult(flow={self.flow!r}, user={self.user!r})"


class Waiter:
    """Cancellable waiting. Without ``sleep`` it waits on the ``cancel`` event, so a cancel
    ends the wait at once; with an injected ``sleep`` (tests) it checks the event after."""

    def __init__(
        self,
        cancel: threading.Event | None = None,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cancel = threading.Event() if cancel is None else cancel
        self._sleep = sleep
        self.clock = clock

    def check(self) -> None:
        """Raise :class:`LoginCancelled` once the login was cancelled."""
        if self.cancel.is_set():
            raise LoginCancelled("The login was cancelled.")

    def pause(self, seconds: float) -> None:
        """Wait ``seconds`` (or until cancelled)."""
        self.check()
        if self._sleep is None:
            self.cancel.wait(max(seconds, 0.0))
        else:
            self._sleep(seconds)
        self.check()


def send(session: httpx.Client, request: httpx.Request) -> httpx.Response:
    """Send one of our own requests (no auth), network failures as :class:`TransientError`."""
    try:
        return send_own(session, request)
    except httpx.TransportError as exc:
        raise network_error(exc) from exc


def discover(config: OktaConfig, session: httpx.Client) -> ServerMetadata:
    """The issuer's discovery document (cached per issuer)."""
    return run_sync(discovery_flow(config.issuer), session)


def finish_login(
    config: OktaConfig,
    session: AuthSession,
    tokens: TokenSet,
    *,
    flow: str,
    nonce: str | None = None,
) -> LoginResult:
    """Verify the ID token, then put the tokens on ``session`` (``on_tokens`` is called)."""
    if not tokens.id_token:
        raise ConfigError(
            "The login returned no ID token, so who signed in cannot be verified: include "
            "'openid' in the scopes."
        )
    auth = session.okta_auth
    now = time.time() + auth.skew
    claims = auth.verifier.verify_id_token(tokens.id_token, session, nonce=nonce, now=now)
    auth.set_tokens(tokens, notify=True, id_claims=claims)
    return LoginResult(session=session, claims=claims, flow=flow)


def token_call(session: AuthSession, request: httpx.Request, grant: str) -> TokenSet:
    """Send a token request and parse the answer; remember the server's clock skew (from
    ``Date``) on the session, so the ID token is checked against the server's time."""
    sent_at = time.time()
    response = send(session, request)
    skew = server_skew(response, time.time())
    tokens = parse_token_response(response, sent_at, grant)
    if skew is not None:
        session.okta_auth.skew = skew
    return tokens
