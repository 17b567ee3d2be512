"""``private_key_jwt``: verifying a client assertion (RFC 7523 §3) as Okta does, with its texts.

The assertion is a JWT signed with a key from the app's ``jwks`` (RS/ES 256/384/512, found by
its ``kid``; without one every key is tried). Okta's rules (OIDC-REF "Client authentication
methods", Okta's "Build a JWT for client authentication" guide): ``iss`` = ``sub`` =
``client_id``; ``aud`` = the full URL of the endpoint invoked (each endpoint's own URL, so an
assertion for ``/v1/token`` is refused at ``/v1/revoke``); ``exp`` required and at most an hour
ahead; ``iat`` (optional) not in the future; ``jti`` (optional) single use. Each failure is 401
``invalid_client`` with ERR's text, and its ERR code as the event's ``detail``.

Times are judged on the wall clock (the clock a client signs with), within :data:`LEEWAY`, not
on the server's adjustable clock: ``advance_clock()`` expires the server's tokens, not a
client's fresh assertions. A ``jti`` is remembered until its assertion expires, at most
:data:`MAX_SPENT` of them (then the oldest are forgotten first).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import jwt

from ._client_keys import SIGNING_ALGS, named_keys, usable
from ._settings import AppSettings
from ._state import OAuthFailure

__all__ = [
    "JWT_BEARER",
    "Endpoint",
    "SpentAssertions",
    "assertion_kind",
    "refused",
    "verify_assertion",
]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFETIME = 3600  # Okta: exp "must be a maximum of only an hour in the future"
LEEWAY = 60  # seconds of clock difference forgiven on exp, iat and nbf
MAX_SPENT = 10_000

#: ERR (oauth2-error-codes.json), ``invalid_client`` 401: internal code -> description.
TEXTS = {
    "client_assertion_invalid_jwt": "The parsing of the client_assertion failed.",
    "client_assertion_invalid_signature_algorithm": (
        "The client_assertion JWT signature algorithm is invalid."
    ),
    "client_assertion_invalid_kid": "The client_assertion JWT kid is invalid.",
    "client_assertion_invalid_signature": "The client_assertion signature is invalid.",
    "client_assertion_invalid_issuer": (
        "The issuer claim for client_assertion is not a valid client_id."
    ),
    "client_assertion_invalid_subject": (
        "The subject claim for client_assertion is not a valid client_id."
    ),
    "client_assertion_invalid_audience": (
        "The audience claim for client_assertion must be the endpoint invoked for the request."
    ),
    "client_assertion_expiration_required": (
        "The client_assertion must contain the 'exp' claim as seconds since epoch."
    ),
    "client_assertion_expired_token": "The client_assertion token is expired.",
    "client_assertion_expires_too_far_in_future": (
        "The client_assertion token has an expiration too far into the future."
    ),
    "client_assertion_issued_at_in_future": (
        "The client_assertion token must be issued before the current time."
    ),
    "client_assertion_already_used": "The client_assertion token has already been used.",
    "client_assertion_jwks_not_configured": (
        "The client does not have a JWKSet configured, but the client_assertion requires one."
    ),
}
TYPE_INVALID = "The client_assertion_type is invalid."  # ERR client_assertion_type_invalid, 400


def refused(code: str) -> OAuthFailure:
    """Okta's 401 ``invalid_client`` for ERR code ``code`` (kept as the event's detail)."""
    return OAuthFailure(401, "invalid_client", TEXTS[code], detail=code)


class SpentAssertions:
    """The ``(client_id, jti)`` pairs already used, each kept until its assertion expires."""

    def __init__(self, limit: int = MAX_SPENT) -> None:
        self._lock = threading.Lock()
        self._until: dict[tuple[str, str], float] = {}
        self._limit = limit

    def spend(self, key: tuple[str, str], until: float, now: float) -> bool:
        """Record ``key`` as used; False if it already was (and has not expired)."""
        with self._lock:
            if self._until.get(key, -math.inf) > now:
                return False
            if len(self._until) >= self._limit:
                self._until = {k: u for k, u in self._until.items() if u > now}
                while len(self._until) >= self._limit:
                    del self._until[next(iter(self._until))]  # the oldest
            self._until[key] = until
            return True


@dataclass(frozen=True)
class Endpoint:
    """Where a request was sent: the URL its assertion must name, and the server's memory."""

    url: str
    spent: SpentAssertions = field(repr=False)
    now: float


def _header(assertion: str) -> dict[str, Any] | None:
    try:
        return jwt.get_unverified_header(assertion)
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def assertion_kind(assertion: str) -> tuple[str, bool, str]:
    """(method, readable, unverified ``sub``): ``client_secret_jwt`` for an HMAC ``alg``,
    ``private_key_jwt`` otherwise, including an assertion whose header cannot be read."""
    header = _header(assertion)
    if header is None:
        return "private_key_jwt", False, ""
    alg = header.get("alg")
    method = "client_secret_jwt" if isinstance(alg, str) and alg.startswith("HS") else ""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        claims = {}
    sub = claims.get("sub")
    return method or "private_key_jwt", True, sub if isinstance(sub, str) else ""


def _signed_claims(app: AppSettings, assertion: str) -> dict[str, Any]:
    """The claims, once the signature checks out against a key of the app's ``jwks``."""
    header = _header(assertion)
    if header is None:
        raise refused("client_assertion_invalid_jwt")
    alg = header.get("alg")
    if alg not in SIGNING_ALGS:
        raise refused("client_assertion_invalid_signature_algorithm")
    if app.jwks is None:
        raise refused("client_assertion_jwks_not_configured")
    named = named_keys(app.jwks, header.get("kid"))
    if not named:
        raise refused("client_assertion_invalid_kid")
    keys = usable(named, str(alg))
    if not keys:
        raise refused("client_assertion_invalid_signature_algorithm")
    for key in keys:
        try:
            claims: dict[str, Any] = jwt.decode(assertion, key, algorithms=[alg], options=_RAW)
        except jwt.InvalidSignatureError:
            continue
        except (jwt.PyJWTError, ValueError, TypeError):
            raise refused("client_assertion_invalid_jwt") from None
        return claims
    raise refused("client_assertion_invalid_signature")


# Signature only: the claims are checked below, with Okta's texts and the wall clock.
_RAW: Any = {
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
    "require": [],
}


def _time(value: object) -> float | None:
    """A JSON number of seconds (not a boolean, NaN or an infinity), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)  # a JSON integer may have 400 digits
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _check_parties(app: AppSettings, claims: dict[str, Any], url: str) -> None:
    if claims.get("iss") != app.client_id:
        raise refused("client_assertion_invalid_issuer")
    if claims.get("sub") != app.client_id:
        raise refused("client_assertion_invalid_subject")
    audience = claims.get("aud")
    # RFC 7519 §4.1.3: one string, or an array holding it.
    if url not in (audience if isinstance(audience, list) else [audience]):
        raise refused("client_assertion_invalid_audience")


def _check_times(claims: dict[str, Any], now: float) -> float:
    exp = _time(claims.get("exp"))
    if exp is None:
        raise refused("client_assertion_expiration_required")
    if exp <= now - LEEWAY:
        raise refused("client_assertion_expired_token")
    if exp > now + MAX_LIFETIME + LEEWAY:
        raise refused("client_assertion_expires_too_far_in_future")
    for name in ("iat", "nbf"):  # nbf: no text of its own at Okta; iat's is the nearest
        value = _time(claims.get(name, now))
        if value is None:
            raise refused("client_assertion_invalid_jwt")
        if value > now + LEEWAY:
            raise refused("client_assertion_issued_at_in_future")
    return exp


def verify_assertion(app: AppSettings, assertion: str, endpoint: Endpoint) -> None:
    """Accept ``app``'s assertion sent to ``endpoint``, or raise Okta's 401."""
    claims = _signed_claims(app, assertion)
    _check_parties(app, claims, endpoint.url)
    exp = _check_times(claims, endpoint.now)
    jti = claims.get("jti")
    if jti is None:
        return  # Okta: "If jti is specified, the token can only be used once."
    if not isinstance(jti, str) or not jti:
        raise refused("client_assertion_invalid_jwt")
    if not endpoint.spent.spend((app.client_id, jti), exp + LEEWAY, endpoint.now):
        raise refused("client_assertion_already_used")
