"""The teaching and testing controls of :class:`~._server.DevServer`, as Python methods.

Each one is also an ``/admin`` call; :class:`~._controls.Controls` carries them out.
"""

from __future__ import annotations

from typing import Any

from .._models import TokenSet
from ._authority import Authority
from ._controls import Controls
from ._settings import AppSettings
from ._state import Clock, Event

__all__ = ["DevServerControls"]


class DevServerControls:
    """Events, logins, device approval, faults, keys, apps and the clock of a running server."""

    _clock: Clock

    @property
    def authority(self) -> Authority:
        raise NotImplementedError

    @property
    def controls(self) -> Controls:
        raise NotImplementedError

    @property
    def events(self) -> list[Event]:
        """The OAuth-endpoint calls the log holds, oldest first (a copy); led by an
        ``events_dropped`` marker once the log has dropped older ones (see ``max_events``)."""
        return self.controls.events()

    @property
    def events_dropped(self) -> int:
        """How many events the bounded log has dropped since the last clear."""
        return self.controls.events_dropped

    @property
    def max_events(self) -> int:
        """How many events the log keeps (``DevServer(max_events=...)``)."""
        return self.authority.store.events.limit

    def clear_events(self) -> None:
        self.controls.clear_events()

    def login_as(
        self,
        user: str = "ada@example.com",
        app: str = "native",
        scopes: Any = None,
        *,
        org: bool = False,
    ) -> TokenSet:
        """The :class:`TokenSet` a completed login of ``user`` to ``app`` would give."""
        body = self.controls.login_as(user, app, scopes, "org" if org else "default")
        return TokenSet.from_response(body)

    def approve_device(self, user_code: str, user: str = "ada@example.com") -> None:
        self.controls.approve_device(user_code, user)

    def deny_device(self, user_code: str) -> None:
        self.controls.deny_device(user_code)

    @property
    def auto_approve(self) -> str | None:
        return self.authority.store.auto_approve

    @auto_approve.setter
    def auto_approve(self, user: str | None) -> None:
        self.controls.set_auto_approve(user)

    def expire_access_tokens(self, user: str) -> int:
        """Expire ``user``'s access tokens now (the API then answers 401)."""
        return self.controls.expire_access_tokens(user)

    def revoke_user(self, user: str) -> int:
        """Revoke all of ``user``'s tokens, as an admin's "clear sessions" does."""
        return self.controls.revoke_user(user)

    def rotate_keys(self, server: str = "default") -> str:
        return self.controls.rotate_keys(server)

    def configure_app(self, name: str, **changes: Any) -> AppSettings:
        """Change an app at run time: ``access_token_ttl``, ``rotation``, ``grace_period``..."""
        return self.controls.configure_app(name, **changes)

    def inject_fault(
        self,
        status: int | None = None,
        *,
        count: int = 1,
        latency: float = 0.0,
        drop: bool = False,
        html: bool | None = None,
    ) -> None:
        """Fail or slow the next ``count`` token-endpoint calls."""
        self.controls.inject_fault(status, count=count, latency=latency, drop=drop, html=html)

    def clear_faults(self) -> None:
        self.controls.clear_faults()

    @property
    def clock_offset(self) -> float:
        return self._clock.offset

    @clock_offset.setter
    def clock_offset(self, seconds: float) -> None:
        self.controls.set_clock_offset(seconds)

    def advance_clock(self, seconds: float) -> float:
        """Move the server's clock forward (tokens expire, idle windows pass)."""
        return self.controls.advance_clock(seconds)

    def now(self) -> float:
        """The server's current time (wall clock plus the offset)."""
        return self._clock()
