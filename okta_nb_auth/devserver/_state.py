"""What the dev server remembers: grants, tokens, codes, device codes, events, faults, clock.

Everything lives in one :class:`Store` guarded by one lock, because the Starlette handlers
(on uvicorn's thread) and the :class:`DevServer` controls (on the caller's thread) share it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
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


@dataclass(frozen=True)
class Event:
    """One call to an OAuth endpoint and its outcome (``error`` is None on success).

    ``endpoint`` is ``token``, ``device_authorize``, ``par``, ``introspect``, ``revoke``,
    ``discovery`` (any ``.well-known`` document) or ``keys`` (a key set). ``auth_method`` is the
    client authentication the call used (``client_secret_basic``, ``client_secret_post``,
    ``none``, ``private_key_jwt``, ``client_secret_jwt``); ``auth_mismatch`` is
    ``invalid_token_endpoint_auth_method`` (Okta's System Log reason) when that is not the
    app's method, whether accepted or refused.
    ``detail`` says what else happened (``rotated``, ``reuse_detected_family_revoked``, ...),
    or ``invalid_token_endpoint_auth_method`` when the method is why the call was refused, or
    Okta's code for a refused client assertion (``client_assertion_already_used``, ...).
    """

    at: float
    endpoint: str
    grant_type: str | None
    client_id: str | None
    app: str | None
    status: int
    error: str | None
    user: str | None = None
    detail: str | None = None
    expires_at: float | None = None
    auth_method: str | None = None
    auth_mismatch: str | None = None


@dataclass
class Grant:
    """One login's token family: the refresh tokens and access tokens it issued."""

    id: str
    server_id: str
    app: str
    client_id: str
    user: str | None
    scopes: tuple[str, ...]
    auth_time: int
    expires_at: float | None  # absolute refresh-token lifetime; rotation inherits it
    revoked: bool = False


@dataclass
class RefreshRecord:
    token: str
    grant_id: str
    last_used: float
    rotated_at: float | None = None


@dataclass
class AccessRecord:
    jti: str
    server_id: str
    client_id: str
    user: str | None
    scopes: tuple[str, ...]
    exp: float
    grant_id: str | None = None
    revoked: bool = False


@dataclass
class CodeRecord:
    code: str
    server_id: str
    app: str
    redirect_uri: str
    scopes: tuple[str, ...]
    user: str
    auth_time: int
    expires_at: float
    nonce: str | None
    challenge: str | None
    used: bool = False
    issued: list[str] = field(default_factory=list)  # grant ids, revoked on replay


@dataclass
class DeviceRecord:
    device_code: str
    user_code: str
    server_id: str
    app: str
    scopes: tuple[str, ...]
    expires_at: float
    interval: int
    status: str = "pending"  # pending, approved, denied, consumed
    user: str | None = None
    last_poll: float | None = None


@dataclass
class PushedRequest:
    """An authorization request pushed to ``/v1/par``, until its ``request_uri`` is used."""

    request_uri: str
    server_id: str
    client_id: str
    params: dict[str, str]
    expires_at: float
    used: bool = False


@dataclass
class Fault:
    """What to do to the next ``count`` token-endpoint calls."""

    count: int
    status: int | None = None
    latency: float = 0.0
    drop: bool = False
    html: bool = False


def opaque(length: int = 32) -> str:
    """An opaque base64url value: 32 bytes give Okta's 43 characters."""
    return secrets.token_urlsafe(length)


USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # consonants only: no accidental words


class Store:
    """All mutable state. Callers hold ``store.lock`` across read-modify-write sequences."""

    def __init__(self, clock: Clock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.grants: dict[str, Grant] = {}
        self.refresh: dict[str, RefreshRecord] = {}
        self.access: dict[str, AccessRecord] = {}
        self.codes: dict[str, CodeRecord] = {}
        self.devices: dict[str, DeviceRecord] = {}
        self.user_codes: dict[str, str] = {}
        self.sessions: dict[str, tuple[str, int]] = {}  # browser sid -> (login, auth_time)
        self.transactions: dict[str, dict[str, str]] = {}  # login-form txn -> authorize params
        self.pushed: dict[str, PushedRequest] = {}  # request_uri -> pushed request
        self.events: list[Event] = []
        self.faults: list[Fault] = []
        self.auto_approve: str | None = None
        self._window: tuple[int, int] = (0, 0)  # (minute, calls) for the rate limit

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

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke a token family: its refresh tokens and every access token it issued."""
        with self.lock:
            grant = self.grants.get(grant_id)
            if grant is not None:
                grant.revoked = True
            for record in self.access.values():
                if record.grant_id == grant_id:
                    record.revoked = True

    def revoke_user(self, login: str) -> int:
        """Revoke every grant and access token of ``login``; returns how many grants."""
        with self.lock:
            grants = [g.id for g in self.grants.values() if g.user == login and not g.revoked]
            for grant_id in grants:
                self.revoke_grant(grant_id)
            for record in self.access.values():
                if record.user == login:
                    record.revoked = True
            self.sessions = {k: v for k, v in self.sessions.items() if v[0] != login}
            return len(grants)

    def expire_access_tokens(self, login: str) -> int:
        """Make ``login``'s access tokens expired now; returns how many were live."""
        with self.lock:
            now = self.clock()
            live = [r for r in self.access.values() if r.user == login and r.exp > now]
            for record in live:
                record.exp = now - 1
            return len(live)
