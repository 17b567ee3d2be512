"""Token data: :class:`TokenSet`, immutable, with a repr that never shows a full token."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from ._exceptions import ConfigError, ProtocolError
from ._secret import Secret, mask, refuse_pickle, secret

__all__ = ["MAX_LIFETIME", "TokenSet", "mask", "usable_refresh_token"]

#: The longest access-token lifetime believed (Okta's maximum is a day): a larger
#: ``expires_in`` is a server bug or an attack, not "never expires".
MAX_LIFETIME = 366 * 86400

#: Characters a token may hold: visible ASCII (RFC 6750's b64token and RFC 6749's
#: VSCHAR), so a token can never break the Authorization header it goes into.
_TOKEN_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))


def _finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _expires_in(payload: Mapping[str, Any]) -> float:
    if "expires_in" not in payload:
        raise ProtocolError(
            "The token response has no 'expires_in'; Okta always sends it, so this server "
            "is not behaving like Okta. Check the issuer URL."
        )
    raw = payload["expires_in"]
    try:
        if isinstance(raw, bool):
            raise TypeError(raw)
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise ProtocolError(
            f"The token response's 'expires_in' is not a number ({type(raw).__name__})."
        ) from None
    if not math.isfinite(value) or not 0 <= value <= MAX_LIFETIME:
        raise ProtocolError(
            "The token response's 'expires_in' is negative, not finite or longer than "
            f"{MAX_LIFETIME // 86400} days."
        )
    return value


def _optional_str(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"The token response's '{key}' is not a non-empty string.")
    return value


def _optional_token(payload: Mapping[str, Any], key: str) -> Secret | None:
    value = _optional_str(payload, key)
    if value is not None and not _TOKEN_CHARS.issuperset(value):
        raise ProtocolError(
            f"The token response's '{key}' holds characters a token cannot have (spaces, "
            "control or non-ASCII characters)."
        )
    return secret(value)


def usable_refresh_token(payload: object) -> Secret | None:
    """The refresh token of a token-endpoint answer, when it carries a well-formed one, even
    if the rest of the answer is unusable: a rotated refresh token must never be dropped."""
    if not isinstance(payload, Mapping):
        return None
    try:
        return _optional_token(payload, "refresh_token")
    except ProtocolError:
        return None


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
        access_token = _optional_token(payload, "access_token")
        if access_token is None:
            raise ProtocolError("The token response has no 'access_token'.")
        token_type = _optional_str(payload, "token_type") or "Bearer"
        received = time.time() if now is None else now
        return cls(
            access_token=access_token,
            expires_at=received + _expires_in(payload),
            token_type=token_type,
            refresh_token=_optional_token(payload, "refresh_token"),
            id_token=_optional_token(payload, "id_token"),
            scope=_optional_str(payload, "scope"),
        )

    def __post_init__(self) -> None:
        if not isinstance(self.access_token, str) or not self.access_token:
            raise ConfigError("TokenSet(access_token=...) must be a non-empty string.")
        if not _finite_number(self.expires_at):
            raise ConfigError(
                "TokenSet(expires_at=...) must be a finite number of epoch seconds (a NaN or "
                "infinite expiry would mean 'never expires')."
            )
        # Tokens are Secrets: masked in any repr (a traceback's locals too), never pickled.
        for name in ("access_token", "refresh_token", "id_token"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"TokenSet({name}=...) must be a string or None.")
            object.__setattr__(self, name, secret(value))

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        refuse_pickle("A TokenSet")

    def __copy__(self) -> TokenSet:
        return self  # immutable

    def __deepcopy__(self, memo: Any) -> TokenSet:
        return self

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
