"""What a lender sends (:class:`Parcel`) and what a borrower signs with (:class:`Lease`).

A :class:`Parcel` is plain data that crosses processes: the lease's key, its sealed access
token (see :mod:`._seal`), how long it lasts from now (not an instant: clocks differ between
machines), or why there is none (the login ended; the lender could not refresh for now).
A :class:`Lease` is the borrower's own view of it: the ``Bearer`` header as a
:class:`~okta_nb_auth._secret.Secret`, an expiry by the borrower's clock and the margin at
which to ask for a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._exceptions import LoginRequired, OktaAuthError, ProtocolError, TransientError
from .._secret import Secret

__all__ = ["ENDED", "FAILED", "Lease", "Parcel", "failure"]

ENDED, FAILED = "login_required", "transient"


@dataclass(frozen=True, slots=True)
class Parcel:
    """A lender's answer: ``key`` names the token it carries (equal keys, same token); exactly
    one of ``sealed`` (the token, readable by the asking borrower only) or ``error`` (``ENDED``:
    log in again; ``FAILED``: retry later) with its ``message``."""

    key: str
    sealed: str | None = None
    expires_in: float = 0.0
    lifetime: float = 0.0
    error: str | None = None
    message: str = ""

    @property
    def context(self) -> str:
        """The fields the seal binds to the token."""
        return f"{self.key}|{self.expires_in!r}|{self.lifetime!r}"

    def to_wire(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_wire(cls, data: object) -> Parcel:
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            raise ProtocolError("A token lender sent something that is not a parcel.")
        return cls(**{name: data[name] for name in cls.__slots__ if name in data})

    def raise_error(self) -> None:
        """Raise what an error parcel says (nothing for a parcel with a token)."""
        if self.error == ENDED:
            raise LoginRequired(self.message)
        if self.error is not None:
            raise TransientError(self.message)

    def __repr__(self) -> str:
        return f"Parcel(key={self.key!r}, error={self.error!r}, expires_in={self.expires_in:.0f})"


def failure(key: str, exc: OktaAuthError) -> Parcel:
    """The parcel saying why a lender has no token for now."""
    kind = ENDED if isinstance(exc, LoginRequired) else FAILED
    return Parcel(key, error=kind, message=str(exc))


@dataclass(frozen=True, slots=True)
class Lease:
    """A borrowed access token: ``header`` (masked in any repr, never pickled), used until
    ``expires_at - margin`` by the borrower's clock; ``key`` names it to the lender."""

    key: str
    header: Secret
    expires_at: float
    margin: float

    def usable(self, now: float) -> bool:
        return self.expires_at - now > self.margin

    def __repr__(self) -> str:
        return f"Lease(key={self.key!r}, margin={self.margin})"
