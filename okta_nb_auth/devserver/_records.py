"""The records the dev server keeps: token families, refresh and access tokens, codes, device
codes, pushed requests and faults (one dataclass each; the store holds them in its tables).

The token records have ``__slots__``: a busy server holds thousands of them."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AccessRecord",
    "CodeRecord",
    "DeviceRecord",
    "Fault",
    "Grant",
    "PushedRequest",
    "RefreshRecord",
]


@dataclass(slots=True)
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


@dataclass(slots=True)
class RefreshRecord:
    token: str
    grant_id: str
    last_used: float
    rotated_at: float | None = None


@dataclass(slots=True)
class AccessRecord:
    jti: str
    server_id: str
    client_id: str
    user: str | None
    scopes: tuple[str, ...]
    exp: float
    grant_id: str | None = None
    revoked: bool = False


@dataclass(slots=True)
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


@dataclass(slots=True)
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
