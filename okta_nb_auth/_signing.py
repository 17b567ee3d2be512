"""Signing: what a request needs to carry the access token, published for the fast path.

:class:`~okta_nb_auth.OktaAuth` publishes one immutable :class:`Ready` after every change of
its tokens, their lifetime or the leeway. A request reads it without a lock: while the token
lasts beyond the margin, it is signed with the precomputed header and nothing else runs (the
fast path of :class:`~okta_nb_auth._flowauth.FlowAuth`); otherwise the one flow runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ._exceptions import LoginRequired
from ._secret import Secret
from .store._holding import StoreHolder

__all__ = ["Ready", "Signing"]


@dataclass(frozen=True, slots=True)
class Ready:
    """What a request needs to be signed without taking a lock: the header of the current
    access token, when to stop using it unrefreshed (``expires_at - now <= margin``) and its
    generation. Replaced as a whole, never changed."""

    header: str
    expires_at: float
    margin: float
    generation: int

    def __repr__(self) -> str:  # the header holds the token
        return f"Ready(generation={self.generation}, margin={self.margin})"


class Signing(StoreHolder):
    """The signing half of :class:`~okta_nb_auth.OktaAuth`, which sets the state."""

    grant: str
    _leeway: float
    _ready: Ready | None
    _attempts: int
    _clock: Callable[[], float]
    _watchers: tuple[Callable[[], object], ...] = ()

    def watch(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` after every change of the tokens (a refresh, a login, a
        logout): how a broker lending access tokens to other processes learns of a logout.
        It runs in whichever thread made the change, so it must be quick and not raise."""
        self._watchers = (*self._watchers, callback)

    def unwatch(self, callback: Callable[[], object]) -> None:
        """Stop calling ``callback`` (see :meth:`watch`)."""
        self._watchers = tuple(w for w in self._watchers if w != callback)

    @property
    def leeway(self) -> float:
        """Refresh this many seconds before expiry (capped at half the token's lifetime)."""
        return self._leeway

    @leeway.setter
    def leeway(self, value: float) -> None:
        self._leeway = value
        self._publish()

    def _can_refresh(self) -> bool:
        return self.grant == "client_credentials" or bool(
            self._tokens and self._tokens.refresh_token
        )

    def _needs_refresh(self) -> bool:
        return self._usable() is None

    def _usable(self) -> Ready | None:
        """The published :class:`Ready` while its token lasts beyond the margin, else None
        (no tokens, or time to refresh): the one expiry check, read without a lock."""
        ready = self._ready
        if ready is None or ready.expires_at - self._clock() <= ready.margin:
            return None
        return ready

    def _publish(self) -> None:
        """Publish what signing needs (called after every change of tokens, lifetime or
        leeway): one immutable :class:`Ready` that requests read without a lock."""
        self._set_ready()
        for callback in self._watchers:
            callback()

    def _set_ready(self) -> None:
        tokens = self._tokens
        if tokens is None:
            self._ready = None
            return
        margin = 0.0  # no refresh possible: use the token while it lasts, then say so
        if self._can_refresh():
            # A leeway longer than half the lifetime would make every request refresh.
            margin = min(self._leeway, max(self._lifetime, 0.0) / 2)
        header = Secret(f"Bearer {tokens.access_token}")  # masked wherever it is shown
        self._ready = Ready(header, tokens.expires_at, margin, self._generation)

    def _signed(self, request: httpx.Request) -> tuple[int, int] | None:
        """The fast path (see :class:`FlowAuth`): while the token lasts beyond the leeway,
        sign with the published header, without a lock; None when the flow must run."""
        ready = self._usable()
        if ready is None:
            return None
        request.headers["Authorization"] = ready.header
        return ready.generation, self._attempts

    def _sign(self, request: httpx.Request) -> tuple[int, int]:
        """Attach the current token; returns ``seen``: its generation, the attempts so far."""
        ready = self._ready
        if ready is None:
            raise LoginRequired("There are no tokens: log in first.")
        request.headers["Authorization"] = ready.header
        return ready.generation, self._attempts
