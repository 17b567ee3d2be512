"""What the dev server remembers: grants, tokens, codes, device codes, events, faults, clock.

Everything lives in one :class:`Store` guarded by one lock, because the Starlette handlers
(on uvicorn's thread) and the :class:`DevServer` controls (on the caller's thread) share it.
The records are in ``_records`` (re-exported here), the bounded event log in ``_events``,
pruning and the family index in ``_sweep``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ._events import DEFAULT_MAX_EVENTS, Event, EventLog
from ._records import (
    AccessRecord,
    CodeRecord,
    DeviceRecord,
    Fault,
    Grant,
    PushedRequest,
    RefreshRecord,
)
from ._sweep import GRANT, Family, Sweeper, Table

__all__ = [
    "DEFAULT_IDLE",
    "AccessRecord",
    "Clock",
    "CodeRecord",
    "DeviceRecord",
    "Event",
    "Fault",
    "Grant",
    "OAuthFailure",
    "PushedRequest",
    "RefreshRecord",
    "Store",
]


class OAuthFailure(Exception):
    """An OAuth error answer: JSON ``{"error", "error_description"}`` with Okta's status.

    ``detail`` (Okta's internal error code, such as ``client_assertion_expired_token``) goes to
    the event log only.
    """

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        headers: dict[str, str] | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}
        self.detail = detail


class Clock:
    """Wall-clock time plus an adjustable offset, so tests can jump hours ahead."""

    def __init__(self, offset: float = 0.0, source: Callable[[], float] = time.time) -> None:
        self.offset = offset
        self._source = source

    def __call__(self) -> float:
        return self._source() + self.offset


def opaque(length: int = 32) -> str:
    """An opaque base64url value: 32 bytes give Okta's 43 characters."""
    return secrets.token_urlsafe(length)


USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # consonants only: no accidental words
DEFAULT_IDLE = 7 * 24 * 3600.0  # Okta's default refresh-token idle window

R = TypeVar("R")


class Store:
    """All mutable state. Callers hold ``store.lock`` across read-modify-write sequences.

    The tables with lifetimes tell a :class:`~._sweep.Sweeper` about every record put in them;
    it prunes dead ones a few at each write. ``families`` indexes each grant's tokens.
    ``idle`` gives an app's refresh-token idle window by app name (the authority's apps).
    """

    def __init__(
        self,
        clock: Clock,
        max_events: int = DEFAULT_MAX_EVENTS,
        idle: Callable[[str], float] = lambda app: DEFAULT_IDLE,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.sweeper = Sweeper(self, idle)
        self.families: dict[str, Family] = {}  # grant id -> its tokens
        self.grants: Table[Grant] = Table(self._locked(self.sweeper.grant_added))
        self.refresh: Table[RefreshRecord] = Table(self._locked(self.sweeper.refresh_added))
        self.access: Table[AccessRecord] = Table(self._locked(self.sweeper.access_added))
        self.codes: Table[CodeRecord] = Table(self._locked(self.sweeper.code_added))
        self.devices: Table[DeviceRecord] = Table(self._locked(self.sweeper.device_added))
        self.user_codes: dict[str, str] = {}
        self.sessions: dict[str, tuple[str, int]] = {}  # browser sid -> (login, auth_time)
        self.transactions: dict[str, dict[str, str]] = {}  # login-form txn -> authorize params
        self.pushed: dict[str, PushedRequest] = {}  # request_uri -> pushed request
        self.events = EventLog(max_events)
        self.faults: list[Fault] = []
        self.auto_approve: str | None = None
        self._window: tuple[int, int] = (0, 0)  # (minute, calls) for the rate limit

    def _locked(self, hook: Callable[[str, R], None]) -> Callable[[str, R], None]:
        def locked(key: str, record: R) -> None:
            with self.lock:
                hook(key, record)

        return locked

    def record(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    def new_user_code(self) -> str:
        while True:
            code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
            if code not in self.user_codes:
                return code

    def take_fault(self) -> Fault | None:
        """Consume one use of the first pending fault."""
        with self.lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.count -= 1
            if fault.count <= 0:
                self.faults.pop(0)
            return fault

    def rate_limit(self, limit: int) -> tuple[int, int, int]:
        """Count one call; return (limit, remaining, reset epoch seconds)."""
        with self.lock:
            now = self.clock()
            minute = int(now // 60)
            start, calls = self._window
            calls = calls + 1 if start == minute else 1
            self._window = (minute, calls)
            return limit, max(limit - calls, -1), (minute + 1) * 60

    def family_access(self, grant_id: str) -> list[AccessRecord]:
        """The access tokens ``grant_id`` issued that are still kept (through the index)."""
        with self.lock:
            family = self.families.get(grant_id)
            jtis = family.access if family is not None else ()
            return [record for jti in jtis if (record := self.access.get(jti)) is not None]

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke a token family: its refresh tokens and every access token it issued."""
        with self.lock:
            grant = self.grants.get(grant_id)
            if grant is not None:
                grant.revoked = True
            for record in self.family_access(grant_id):
                record.revoked = True
            self.sweeper.schedule(GRANT, grant_id)

    def _grants_of(self, login: str) -> list[str]:
        return [g.id for g in self.grants.values() if g.user == login]

    def revoke_user(self, login: str) -> int:
        """Revoke every grant and access token of ``login``; returns how many grants."""
        with self.lock:
            grants = [g for g in self._grants_of(login) if not self.grants[g].revoked]
            for grant_id in self._grants_of(login):  # a user's access tokens all have a grant
                self.revoke_grant(grant_id)
            self.sessions = {k: v for k, v in self.sessions.items() if v[0] != login}
            return len(grants)

    def expire_access_tokens(self, login: str) -> int:
        """Make ``login``'s access tokens expired now; returns how many were live."""
        with self.lock:
            now = self.clock()
            mine = [r for g in self._grants_of(login) for r in self.family_access(g)]
            live = [r for r in mine if r.exp > now]
            for record in live:
                record.exp = now - 1
            return len(live)
