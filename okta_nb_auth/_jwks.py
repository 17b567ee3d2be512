"""A JWKS cache that improves on PyJWT's ``PyJWKClient``.

* The TTL comes from ``Cache-Control: max-age`` (capped, so a key rotation is seen within a day).
* When a fetch fails, the last good key set is kept and used (PyJWT issue #1162).
* An unknown ``kid`` refetches at most once per cooldown, so a stream of forged ``kid`` s
  cannot turn into a stream of requests to Okta (PyJWT issue #929).
* Fetching is a generator flow (see :mod:`okta_nb_auth._drive`): the caller's httpx client
  sends the request, with its transport, proxy and TLS settings.
* :class:`KeySets` shares one cache per issuer and ``jwks_uri`` between every session and
  verifier of a process (a :class:`~okta_nb_auth.DiscoveryCache` holds them, so the process's
  discovery cache holds the process's keys).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx
import jwt

from ._exceptions import KeyFetchError, TokenVerificationError, TransientError
from ._protocol import json_body

__all__ = ["JWKSCache", "KeySets"]

log = logging.getLogger("okta_nb_auth")
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)


#: What building a key from hostile JWK members raises: PyJWT's errors (InvalidKeyError is
#: not a PyJWKError), and the encoding, number and type errors underneath.
_BAD_KEY = (jwt.PyJWTError, ValueError, TypeError, KeyError, OverflowError, RecursionError)


def _usable(jwk: Any) -> bool:
    # Only RSA signing keys: algorithms are pinned to RS256, whatever a key or a token says.
    return (
        isinstance(jwk, dict)
        and jwk.get("kty") == "RSA"
        and jwk.get("use", "sig") == "sig"
        and jwk.get("alg", "RS256") == "RS256"
    )


class JWKSCache:
    """Signing keys of one ``jwks_uri``. Thread-safe: state is replaced, never mutated."""

    def __init__(
        self,
        jwks_uri: str,
        *,
        clock: Callable[[], float] = time.time,
        default_ttl: float = 3600.0,
        max_ttl: float = 86400.0,
        min_ttl: float = 60.0,
        refetch_cooldown: float = 60.0,
    ) -> None:
        self.jwks_uri = jwks_uri
        self._clock = clock
        self._default_ttl, self._max_ttl, self._min_ttl = default_ttl, max_ttl, min_ttl
        self._cooldown = refetch_cooldown
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._expires_at = float("-inf")
        self._last_miss_fetch = float("-inf")

    @property
    def kids(self) -> tuple[str, ...]:
        """The key ids currently cached."""
        return tuple(self._keys)

    def _ttl(self, response: httpx.Response) -> float:
        match = _MAX_AGE.search(response.headers.get("Cache-Control", ""))
        ttl = float(match.group(1)) if match else self._default_ttl
        return min(max(ttl, self._min_ttl), self._max_ttl)

    def parse(self, response: httpx.Response) -> dict[str, jwt.PyJWK]:
        """Parse a JWKS response into usable keys by ``kid`` (sans-I/O)."""
        if not response.is_success:
            raise KeyFetchError(
                f"The JWKS endpoint answered HTTP {response.status_code}.",
                status_code=response.status_code,
            )
        body = json_body(response)
        raw = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(raw, list):
            raise KeyFetchError("The JWKS response has no 'keys' list.")
        keys: dict[str, jwt.PyJWK] = {}
        for jwk in filter(_usable, raw):
            try:
                keys[str(jwk.get("kid", ""))] = jwt.PyJWK(jwk, algorithm="RS256")
            except _BAD_KEY as exc:  # one malformed or foreign key never breaks the others
                log.warning("Ignoring an unusable key in the JWKS: %s", type(exc).__name__)
        if not keys:
            raise KeyFetchError("The JWKS response has no RSA signing key.")
        return keys

    def _fetch(self) -> Generator[httpx.Request, httpx.Response, bool]:
        """Fetch and store the key set; on failure keep the last good one (returns False)."""
        request = httpx.Request(
            "GET", self.jwks_uri, headers={"Accept": "application/json"},
            extensions={"okta_nb_auth": "jwks"},
        )  # fmt: skip
        try:
            response = yield request
            keys = self.parse(response)
        except TransientError as exc:
            if not self._keys:
                raise KeyFetchError(
                    f"Could not fetch the signing keys from {self.jwks_uri}: {exc}"
                ) from exc
            log.warning("JWKS fetch failed (%s); keeping the last good key set.", exc)
            with self._lock:  # retry after the cooldown, not on every verification
                self._expires_at = self._clock() + min(self._cooldown, self._min_ttl)
            return False
        with self._lock:
            self._keys = keys
            self._expires_at = self._clock() + self._ttl(response)
        return True

    def key_flow(self, kid: str | None) -> Generator[httpx.Request, httpx.Response, jwt.PyJWK]:
        """The key for ``kid`` (a token header's), fetching or refetching when needed."""
        fetched = False
        if self._clock() >= self._expires_at:
            fetched = yield from self._fetch()
        found = self._lookup(kid)
        if found is None and not fetched and self._claim_refetch():
            yield from self._fetch()
            found = self._lookup(kid)
        if found is None:
            raise TokenVerificationError(
                "The token's signing key id is not in the issuer's key set: the token was "
                "not issued by this authorization server, or its key was retired."
            )
        return found

    def _claim_refetch(self) -> bool:
        """An unknown kid may mean the keys were rotated: refetch, but at most once per
        cooldown, whatever the token says, however many sessions share this cache."""
        with self._lock:
            now = self._clock()
            if now - self._last_miss_fetch < self._cooldown:
                return False
            self._last_miss_fetch = now
            return True

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        keys = self._keys
        if kid is None:  # tolerated only when there is exactly one candidate
            return next(iter(keys.values())) if len(keys) == 1 else None
        return keys.get(kid)


def _clock_key(clock: Callable[[], float]) -> object:
    # Equal clocks (time.time, or one dev server's bound ``now``) share; an unhashable one is
    # told apart by its id, which stays its own while the cache holding it exists.
    try:
        hash(clock)
    except TypeError:
        return id(clock)
    return clock


class KeySets:
    """The shared :class:`JWKSCache` s: one per issuer and ``jwks_uri``, so every session and
    verifier fetches a key set once (and refetches it once for an unknown ``kid`` per
    cooldown). The clock and cooldown are part of the key, as the cache's timing follows
    them: sessions with the default clock share. Thread-safe; at most :attr:`MAX` caches, the
    oldest dropped."""

    MAX = 32

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._caches: dict[tuple[str, str, object, float], JWKSCache] = {}

    def get(
        self,
        issuer: str,
        jwks_uri: str,
        *,
        clock: Callable[[], float] = time.time,
        refetch_cooldown: float = 60.0,
    ) -> JWKSCache:
        """The cache of ``issuer``'s key set at ``jwks_uri``, made on first use."""
        key = (issuer, jwks_uri, _clock_key(clock), refetch_cooldown)
        with self._lock:
            found = self._caches.get(key)
            if found is None:
                if len(self._caches) >= self.MAX:
                    self._caches.pop(next(iter(self._caches)))
                found = JWKSCache(jwks_uri, clock=clock, refetch_cooldown=refetch_cooldown)
                self._caches[key] = found
            return found

    def forget(self, issuer: str) -> None:
        """Drop the key sets of ``issuer`` (a new server answers at its URL)."""
        with self._lock:
            for key in [key for key in self._caches if key[0] == issuer]:
                del self._caches[key]

    def clear(self) -> None:
        """Drop every key set."""
        with self._lock:
            self._caches.clear()
