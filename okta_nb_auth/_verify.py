"""Token verification over PyJWT: ID tokens (OIDC Core §3.1.3.7, §12.2) and access tokens.

Algorithms are pinned to RS256 by configuration, never read from the token header. Time
claims are checked here, not by PyJWT, so the clock is injectable and can be corrected for
the server's skew. PyJWT errors are translated once, chained with ``raise ... from``, and no
message ever contains the token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

import httpx
import jwt

from ._config import OktaConfig
from ._discovery import DiscoveryCache, discovery_flow
from ._drive import run_async, run_sync
from ._exceptions import ConfigError, KeyFetchError, TokenVerificationError
from ._jwks import JWKSCache

__all__ = ["TokenVerifier", "verify_access_token"]

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


def _translated(exc: jwt.PyJWTError, kind: str) -> TokenVerificationError:
    reason = next((text for cls, text in _PYJWT_ERRORS if isinstance(exc, cls)), "it is invalid")
    if isinstance(exc, jwt.MissingRequiredClaimError):
        reason += f" ({exc.claim!r})"
    return TokenVerificationError(f"The {kind} was rejected: {reason}.")


class TokenVerifier:
    """Verify tokens of one issuer. Keys come from the issuer's JWKS, cached per verifier."""

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
        self._jwks: JWKSCache | None = None

    def _keys(self, jwks_uri: str) -> JWKSCache:
        if self._jwks is None or self._jwks.jwks_uri != jwks_uri:
            self._jwks = JWKSCache(jwks_uri, clock=self._clock, refetch_cooldown=self._cooldown)
        return self._jwks

    def _decode_flow(self, token: str, audience: str, kind: str) -> Flow:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise _translated(exc, kind) from exc
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
        except jwt.PyJWTError as exc:
            raise _translated(exc, kind) from exc

    def _check_times(self, claims: Mapping[str, Any], now: float | None, kind: str) -> None:
        now = self._clock() if now is None else now
        try:
            exp, iat = float(claims["exp"]), float(claims["iat"])
        except (TypeError, ValueError) as exc:
            raise TokenVerificationError(f"The {kind}'s exp or iat is not a number.") from exc
        if now > exp + self.leeway:
            raise TokenVerificationError(f"The {kind} has expired ({now - exp:.0f} s ago).")
        if iat > now + self.leeway:
            raise TokenVerificationError(
                f"The {kind} was issued {iat - now:.0f} s in the future: check the clock."
            )

    def id_token_flow(
        self,
        token: str,
        *,
        nonce: str | None = None,
        previous: Mapping[str, Any] | None = None,
        now: float | None = None,
        check_expiry: bool = True,
    ) -> Flow:
        """Verify an ID token; returns its claims.

        ``nonce``: the value sent to ``/authorize`` (then required). ``previous``: the claims
        of the ID token this one replaces after a refresh (same ``sub``; a ``nonce``, if any,
        unchanged: OIDC Core §12.2).
        """
        claims = yield from self._decode_flow(token, self.config.client_id, "ID token")
        if check_expiry:
            self._check_times(claims, now, "ID token")
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
    ) -> Generator[httpx.Request, httpx.Response, Claims | None]:
        """Verify the ID token of a refresh against the one it replaces (OIDC Core §12.2).

        ``previous`` are the old token's verified claims; without them the old token is
        verified (signature and claims, not expiry) to learn its ``sub``. Returns None, with
        a warning, when the keys cannot be fetched: the caller then keeps the new access and
        refresh tokens (dropping them would lose a rotated refresh token) but not this ID token.
        """
        try:
            if previous is None and old_token is not None:
                previous = yield from self.id_token_flow(old_token, check_expiry=False)
            return (yield from self.id_token_flow(token, previous=previous, now=now))
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


def verify_access_token(
    token: str,
    config: OktaConfig,
    *,
    required_scopes: Iterable[str] = (),
    client_ids: Iterable[str] | None = None,
    client: httpx.Client | None = None,
    leeway: float = 120.0,
) -> Claims:
    """Verify a custom-server access token once (see :meth:`TokenVerifier.access_token_flow`).

    For many tokens keep one :class:`TokenVerifier`, so its key set stays cached.
    """
    verifier = TokenVerifier(config, leeway=leeway)
    if client is not None:
        return verifier.verify_access_token(
            token, client, required_scopes=required_scopes, client_ids=client_ids
        )
    with httpx.Client() as own:
        return verifier.verify_access_token(
            token, own, required_scopes=required_scopes, client_ids=client_ids
        )
