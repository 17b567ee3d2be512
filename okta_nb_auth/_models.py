"""Token data: :class:`TokenSet`, immutable, with a repr that never shows a full token."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ._exceptions import ProtocolError

__all__ = ["TokenSet", "mask"]

_SHOWN = 6


def mask(secret: str | None) -> str | None:
    """Return a short, safe stand-in for a token or secret: its first 6 characters and a marker.

    Secrets shorter than 20 characters are masked completely.
    """
    if secret is None:
        return None
    if len(secret) < 20:
        return "[masked]"
    return f"{secret[:_SHOWN]}…[masked]"


def _expires_in(payload: Mapping[str, Any]) -> float:
    if "expires_in" not in payload:
        raise ProtocolError(
            "The token response has no 'expires_in'; Okta always sends it, so this server "
            "is not behaving like Okta. Check the issuer URL."
        )
    raw = payload["expires_in"]
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ProtocolError(
            f"The token response's 'expires_in' is not a number ({type(raw).__name__})."
        ) from None
    if not math.isfinite(value) or value < 0:
        raise ProtocolError("The token response's 'expires_in' is negative or not finite.")
    return value


def _optional_str(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"The token response's '{key}' is not a non-empty string.")
    return value


@dataclass(frozen=True, repr=False)
class TokenSet:
    """The tokens of one login, as the token endpoint returned them.

    ``expires_at`` is the access token's expiry in epoch seconds, computed from
    ``expires_in`` when the response was received (never from a token's ``exp`` claim:
    the article's bug #2). ``scope`` is the space-separated granted scope string.
    """

    access_token: str
    expires_at: float
    token_type: str = "Bearer"
    refresh_token: str | None = None
    id_token: str | None = None
    scope: str | None = None

    @classmethod
    def from_response(cls, payload: Mapping[str, Any], now: float | None = None) -> TokenSet:
        """Build a TokenSet from a token-endpoint JSON body.

        Raises :class:`ProtocolError` when a field Okta always sends is missing or malformed.
        """
        if not isinstance(payload, Mapping):
            raise ProtocolError("The token response is not a JSON object.")
        access_token = _optional_str(payload, "access_token")
        if access_token is None:
            raise ProtocolError("The token response has no 'access_token'.")
        token_type = _optional_str(payload, "token_type") or "Bearer"
        received = time.time() if now is None else now
        return cls(
            access_token=access_token,
            expires_at=received + _expires_in(payload),
            token_type=token_type,
            refresh_token=_optional_str(payload, "refresh_token"),
            id_token=_optional_str(payload, "id_token"),
            scope=_optional_str(payload, "scope"),
        )

    @property
    def scopes(self) -> tuple[str, ...]:
        """The granted scopes as a tuple."""
        return tuple(self.scope.split()) if self.scope else ()

    def expires_in(self, now: float | None = None) -> float:
        """Seconds until the access token expires (negative once expired)."""
        return self.expires_at - (time.time() if now is None else now)

    def is_expired(self, leeway: float = 0.0, now: float | None = None) -> bool:
        """True when the access token expires within ``leeway`` seconds."""
        return self.expires_in(now) <= leeway

    def merged_with(self, newer: TokenSet) -> TokenSet:
        """Return ``newer``, keeping this set's refresh and ID tokens where ``newer`` has none.

        Okta may omit the refresh token on a refresh (STATIC rotation) and omits the ID token
        without ``openid``: dropping them is the article's bug #5.
        """
        return replace(
            newer,
            refresh_token=newer.refresh_token or self.refresh_token,
            id_token=newer.id_token or self.id_token,
        )

    def __repr__(self) -> str:
        seconds = round(self.expires_in())
        state = f"expires in {seconds} s" if seconds > 0 else f"expired {-seconds} s ago"
        fields = [
            f"access_token={mask(self.access_token)!r}",
            f"refresh_token={mask(self.refresh_token)!r}",
            f"id_token={mask(self.id_token)!r}",
            f"scope={self.scope!r}",
        ]
        return f"TokenSet({', '.join(fields)}, {state})"

    __str__ = __repr__
