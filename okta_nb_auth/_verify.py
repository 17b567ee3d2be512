"""Token verification over PyJWT: ID tokens (OIDC Core §3.1.3.7, §12.2) and access tokens.

Algorithms are pinned to RS256 by configuration, never read from the token header. Time
claims are checked here, not by PyJWT, so the clock is injectable and can be corrected for
the server's skew. PyJWT errors are translated once, chained with ``raise ... from``, and no
message ever contains the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

import httpx
import jwt

from ._config import OktaConfig
from ._discovery import DISCOVERY_CACHE, DiscoveryCache, discovery_flow
from ._drive import run_async, run_sync
from ._exceptions import ConfigError, KeyFetchError, TokenVerificationError
from ._jwks import JWKSCache

__all__ = ["TokenVerifier", "at_hash", "forget_issuer", "shared_verifier", "verify_access_token"]

log = logging.getLogger("okta_nb_auth")
ALGORITHMS = ["RS256"]
Claims = dict[str, Any]
Flow = Generator[httpx.Request, httpx.Response, Claims]

_PYJWT_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.InvalidSignatureError, "its signature does not match the issuer's key"),
    (jwt.InvalidAlgorithmError, "it is not signed with RS256"),
    (jwt.InvalidIssuerError, "it was issued by another authorization server"),
    (jwt.InvalidAudienceError, "it is meant for another audience"),
    (jwt.MissingRequiredClaimError, "it lacks a required claim"),
    (jwt.DecodeError, "it is not a well-formed JWT"),
)


#: What PyJWT (and the JSON and crypto code under it) raise for hostile input, besides its
#: own errors: nesting too deep, numbers too large, values of the wrong type.
_MALFORMED = (jwt.PyJWTError, RecursionError, ValueError, TypeError, OverflowError)


def _translated(exc: Exception, kind: str) -> TokenVerificationError:
    reason = next((text for cls, text in _PYJWT_ERRORS if isinstance(exc, cls)), "it is invalid")
    if isinstance(exc, jwt.MissingRequiredClaimError):
        reason += f" ({exc.claim!r})"
    elif not isinstance(exc, jwt.PyJWTError):
        reason = "it is not a well-formed JWT"
    return TokenVerificationError(f"The {kind} was rejected: {reason}.")


def _time_claim(claims: Mapping[str, Any], name: str, kind: str) -> float | None:
    """A NumericDate claim as a finite float (None when absent); NaN, infinities, booleans,
    strings and numbers beyond a float are invalid, never 'never expires'."""
    if name not in claims:
        return None
    raw = claims[name]
    try:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise TypeError(name)
        value = float(raw)
    except (TypeError, OverflowError):
        value = math.nan
    if not math.isfinite(value):
        raise TokenVerificationError(f"The {kind}'s {name!r} is not a finite number.")
    return value


def at_hash(access_token: str) -> str:
    """The ``at_hash`` of an access token for an RS256 ID token (OIDC Core §3.1.3.6): the
    left half of its SHA-256, base64url without padding."""
    half = hashlib.sha256(access_token.encode("ascii")).digest()[:16]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode("ascii")


class TokenVerifier:
    """Verify tokens of one issuer. Keys come from the issuer's JWKS, cached with the
    discovery document (once per process, unless ``discovery`` is a cache of its own)."""

    def __init__(
        self,
        config: OktaConfig,
        *,
        leeway: float = 120.0,
        clock: Callable[[], float] = time.time,
        discovery: DiscoveryCache | None = None,
        refetch_cooldown: float = 60.0,
    ) -> None:
        self.config = config
        self.leeway = leeway
        self._clock = clock
        self._discovery = discovery
        self._cooldown = refetch_cooldown

    def _keys(self, jwks_uri: str) -> JWKSCache:
        """The issuer's key set, shared through the discovery cache (the process's by
        default): every session and verifier of an issuer fetches it once."""
        cache = DISCOVERY_CACHE if self._discovery is None else self._discovery
        return cache.key_sets.get(
            self.config.issuer, jwks_uri, clock=self._clock, refetch_cooldown=self._cooldown
        )

    def _decode_flow(self, token: str, audience: str, kind: str) -> Flow:
        if not isinstance(token, str):
            raise TokenVerificationError(f"The {kind} is not a string.")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except _MALFORMED as exc:
            raise _translated(exc, kind) from exc
        if kid is not None and not isinstance(kid, str):
            raise TokenVerificationError(f"The {kind} was rejected: its 'kid' is not a string.")
        metadata = yield from discovery_flow(self.config.issuer, self._discovery)
        key = yield from self._keys(metadata.jwks_uri).key_flow(kid)
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=self.config.issuer,
                options={
                    # Time claims are checked below against our (skew-corrected) clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["iss", "aud", "exp", "iat", "sub"],
                },
            )
        except _MALFORMED as exc:
            raise _translated(exc, kind) from exc

    def _check_times(
        self, claims: Mapping[str, Any], now: float | None, kind: str, *, expiry: bool = True
    ) -> None:
        """``exp`` (unless ``expiry`` is off), ``iat`` and ``nbf``, with the leeway."""
        now = self._clock() if now is None else now
        exp, iat = _time_claim(claims, "exp", kind), _time_claim(claims, "iat", kind)
        nbf = _time_claim(claims, "nbf", kind)
        if exp is None or iat is None:  # PyJWT requires both; a caller may not have asked it
            raise TokenVerificationError(f"The {kind} lacks an 'exp' or 'iat' claim.")
        if expiry and now > exp + self.leeway:
            raise TokenVerificationError(f"The {kind} has expired ({now - exp:.0f} s ago).")
        if iat > now + self.leeway:
            raise TokenVerificationError(
                f"The {kind} was issued {iat - now:.0f} s in the future: check the clock."
            )
        if nbf is not None and nbf > now + self.leeway:
            raise TokenVerificationError(
                f"The {kind} is not valid before {nbf - now:.0f} s from now: check the clock."
            )

    def _check_login(
        self,
        claims: Mapping[str, Any],
        now: float | None,
        access_token: str | None,
        max_age: float | None,
    ) -> None:
        """``at_hash`` against the access token it came with; ``auth_time`` within
        ``max_age`` (plus the leeway) when the login asked for ``max_age``."""
        expected = claims.get("at_hash")
        if access_token is not None and expected is not None:
            if not isinstance(expected, str) or not hmac.compare_digest(
                expected.encode("utf-8", "replace"), at_hash(access_token).encode("ascii")
            ):
                raise TokenVerificationError(
                    "The ID token's at_hash does not match the access token it came with."
                )
        if max_age is None:
            return
        auth_time = _time_claim(claims, "auth_time", "ID token")
        if auth_time is None:
            raise TokenVerificationError(
                "The login asked for max_age, but the ID token has no auth_time."
            )
        now = self._clock() if now is None else now
        if now - auth_time > max_age + self.leeway:
            raise TokenVerificationError(
                f"The user signed in {now - auth_time:.0f} s ago, longer than max_age "
                f"({max_age:.0f} s) allows: sign in again."
            )

    def id_token_flow(
        self,
        token: str,
        *,
        nonce: str | None = None,
        previous: Mapping[str, Any] | None = None,
        now: float | None = None,
        check_expiry: bool = True,
        access_token: str | None = None,
        max_age: float | None = None,
    ) -> Flow:
        """Verify an ID token; returns its claims.

        ``nonce``: the value sent to ``/authorize`` (then required). ``previous``: the claims
        of the ID token this one replaces after a refresh (same ``sub``; a ``nonce``, if any,
        unchanged: OIDC Core §12.2). ``access_token``: the one it came with (its ``at_hash``
        must match). ``max_age``: what the login asked for (``auth_time`` must be recent).
        ``check_expiry=False`` skips ``exp`` only (an old ID token read for its ``sub``).
        """
        claims = yield from self._decode_flow(token, self.config.client_id, "ID token")
        self._check_times(claims, now, "ID token", expiry=check_expiry)
        self._check_login(claims, now, access_token, max_age)
        if nonce is not None and claims.get("nonce") != nonce:
            raise TokenVerificationError("The ID token's nonce does not match the one sent.")
        if previous is not None:
            if claims.get("sub") != previous.get("sub"):
                raise TokenVerificationError(
                    "The refreshed ID token is for another user (its 'sub' changed)."
                )
            if "nonce" in claims and claims["nonce"] != previous.get("nonce"):
                raise TokenVerificationError("The refreshed ID token carries a different nonce.")
        return claims

    def refreshed_id_token_flow(
        self,
        token: str,
        old_token: str | None,
        previous: Mapping[str, Any] | None,
        *,
        now: float | None = None,
        access_token: str | None = None,
    ) -> Generator[httpx.Request, httpx.Response, Claims | None]:
        """Verify the ID token of a refresh against the one it replaces (OIDC Core §12.2).

        ``previous`` are the old token's verified claims; without them the old token is
        verified (signature and claims, not expiry, at the same ``now``) to learn its ``sub``.
        Returns None, with a warning, when the keys cannot be fetched: the caller then keeps the
        new access and refresh tokens (dropping them would lose a rotated refresh token) but not
        this ID token.
        """
        try:
            if previous is None and old_token is not None:  # judged by the same clock
                previous = yield from self.id_token_flow(old_token, now=now, check_expiry=False)
            return (
                yield from self.id_token_flow(
                    token, previous=previous, now=now, access_token=access_token
                )
            )
        except KeyFetchError as exc:
            log.warning("Could not verify the new ID token (%s); it was not kept.", exc)
            return None

    def access_token_flow(
        self,
        token: str,
        *,
        required_scopes: Iterable[str] = (),
        client_ids: Iterable[str] | None = None,
        now: float | None = None,
    ) -> Flow:
        """Verify a custom authorization server's access token: ``aud``, ``iss``, ``exp``,
        ``scp`` (must contain ``required_scopes``) and ``cid`` (one of ``client_ids``,
        default the configured client). Returns its claims."""
        if not self.config.is_custom_server:
            raise ConfigError(
                "Access tokens of the org authorization server are meant for Okta's own APIs "
                "and must not be parsed; use a custom authorization server (…/oauth2/<id>)."
            )
        audience = self.config.expected_audience
        if audience is None:
            raise ConfigError(
                "Set OktaConfig(audience=...) to the authorization server's audience "
                "(Okta Admin Console > Security > API > Authorization Servers)."
            )
        claims = yield from self._decode_flow(token, audience, "access token")
        self._check_times(claims, now, "access token")
        allowed = {self.config.client_id} if client_ids is None else set(client_ids)
        if claims.get("cid") not in allowed:
            raise TokenVerificationError("The access token was issued to another client.")
        scp = claims.get("scp")
        granted = set(scp) if isinstance(scp, list) else set()
        missing = sorted(set(required_scopes) - granted)
        if missing:
            raise TokenVerificationError(
                f"The access token lacks the scope(s) {', '.join(missing)}."
            )
        return claims

    def verify_id_token(self, token: str, client: httpx.Client, **kwargs: Any) -> Claims:
        """Sync :meth:`id_token_flow`, fetching with ``client``."""
        return run_sync(self.id_token_flow(token, **kwargs), client)

    async def averify_id_token(
        self, token: str, client: httpx.AsyncClient, **kwargs: Any
    ) -> Claims:
        """Async :meth:`id_token_flow`, fetching with ``client``."""
        return await run_async(self.id_token_flow(token, **kwargs), client)

    def verify_access_token(self, token: str, client: httpx.Client, **kwargs: Any) -> Claims:
        """Sync :meth:`access_token_flow`, fetching with ``client``."""
        return run_sync(self.access_token_flow(token, **kwargs), client)

    async def averify_access_token(
        self, token: str, client: httpx.AsyncClient, **kwargs: Any
    ) -> Claims:
        """Async :meth:`access_token_flow`, fetching with ``client``."""
        return await run_async(self.access_token_flow(token, **kwargs), client)


_SHARED: dict[tuple[str, str, str | None, float], TokenVerifier] = {}
_SHARED_LOCK = threading.Lock()
_SHARED_MAX = 32  # issuers x apps x audiences a process verifies for, at most


def shared_verifier(config: OktaConfig, leeway: float = 120.0) -> TokenVerifier:
    """This process's verifier for ``config``'s issuer, app and audience: one key set, fetched
    once and refetched for an unknown ``kid`` at most once per cooldown, however many tokens
    (or forged ``kid`` s) come by."""
    key = (config.issuer, config.client_id, config.expected_audience, leeway)
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None:
            if len(_SHARED) >= _SHARED_MAX:
                _SHARED.pop(next(iter(_SHARED)))
            found = _SHARED[key] = TokenVerifier(config, leeway=leeway)
        return found


def forget_issuer(issuer: str) -> None:
    """Drop the shared verifiers, discovery document and keys of ``issuer`` (a new server now
    answers at that URL)."""
    with _SHARED_LOCK:
        for key in [key for key in _SHARED if key[0] == issuer]:
            del _SHARED[key]
    DISCOVERY_CACHE.forget(issuer)


def verify_access_token(
    token: str,
    config: OktaConfig,
    *,
    required_scopes: Iterable[str] = (),
    client_ids: Iterable[str] | None = None,
    client: httpx.Client | None = None,
    leeway: float = 120.0,
) -> Claims:
    """Verify a custom-server access token (see :meth:`TokenVerifier.access_token_flow`).

    The key set is cached per process (see :func:`shared_verifier`), so verifying many
    tokens costs one JWKS fetch. ``client`` sends that fetch (default: a client of its own).
    """
    verifier = shared_verifier(config, leeway)
    options: dict[str, Any] = {"required_scopes": required_scopes, "client_ids": client_ids}
    if client is not None:
        return verifier.verify_access_token(token, client, **options)
    with httpx.Client() as own:
        return verifier.verify_access_token(token, own, **options)
