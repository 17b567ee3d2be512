"""TokenFetcher: the token-endpoint half of :class:`~okta_nb_auth.OktaAuth`.

It asks Okta for new tokens (a refresh, or ``client_credentials`` for service apps), retries
transient failures with backoff, verifies a refreshed ID token, and revokes tokens at log-out.
Like everything in OktaAuth these are flows: they yield requests and ``Sleep``, and the
drivers send them.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx

from ._config import OktaConfig
from ._discovery import DiscoveryCache, discovery_flow
from ._exceptions import (
    KeyFetchError,
    LoginRequired,
    OktaAuthError,
    ProtocolError,
    RateLimited,
    TransientError,
)
from ._flowauth import FlowAuth
from ._models import TokenSet, usable_refresh_token
from ._protocol import (
    client_credentials_request,
    error_from_response,
    json_body,
    parse_token_response,
    refresh_request,
    revoke_request,
    server_skew,
)
from ._secret import digest
from ._steps import Flow, Sleep
from ._verify import TokenVerifier

__all__ = ["TokenFetcher"]

log = logging.getLogger("okta_nb_auth")


class TokenFetcher(FlowAuth):
    """The token calls of one holder; :class:`~okta_nb_auth.OktaAuth` sets the state."""

    config: OktaConfig
    grant: str
    scopes: tuple[str, ...]
    verifier: TokenVerifier
    skew: float
    _verify: bool
    _clock: Callable[[], float]
    _max_retries: int
    _max_wait: float
    _discovery: DiscoveryCache | None
    _tokens: TokenSet | None
    _id_claims: dict[str, Any] | None
    _dead_refresh_digest: str | None

    def _keep_refresh_token(self, refresh_token: str) -> Flow[None]:
        raise NotImplementedError  # OktaAuth: memory, store, on_tokens

    def _fetch_with_retries(self) -> Flow[tuple[TokenSet, float, dict[str, Any] | None]]:
        for attempt in itertools.count():
            try:
                return (yield from self._fetch_once())
            except KeyFetchError:
                raise
            except TransientError as exc:
                delay = self._backoff(attempt, exc)
                if delay is None:
                    raise
                log.info("Token request failed (%s); retrying in %.1f s", exc, delay)
                yield Sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int, exc: TransientError) -> float | None:
        if attempt >= self._max_retries:
            return None
        if isinstance(exc, RateLimited) and exc.retry_at is not None:
            delay = exc.retry_at - self._clock()
            return None if delay > self._max_wait else max(delay, 0.0) + 0.05
        return float(min(0.5 * 2**attempt, self._max_wait))

    def _fetch_once(self) -> Flow[tuple[TokenSet, float, dict[str, Any] | None]]:
        metadata = yield from discovery_flow(self.config.issuer, self._discovery)
        if self.grant == "client_credentials":
            request = client_credentials_request(self.config, metadata.token_endpoint, self.scopes)
        else:
            request = refresh_request(self.config, metadata.token_endpoint, self._refresh_token())
        sent_at = self._clock()
        response = yield request
        assert response is not None
        skew = server_skew(response, self._clock())
        try:
            tokens = parse_token_response(response, sent_at, self.grant)
        except LoginRequired:
            dead = self._tokens.refresh_token if self._tokens else None
            self._dead_refresh_digest = digest(dead) if dead else None
            raise
        except ProtocolError as exc:
            yield from self._keep_rotated(response, exc)
            raise
        self.skew = self.skew if skew is None else skew
        claims = yield from self._verified_claims(tokens)
        if tokens.id_token and claims is None and self._verify:
            tokens = replace(tokens, id_token=None)  # never keep an unverified ID token
        return tokens, tokens.expires_at - sent_at, claims

    def _keep_rotated(self, response: httpx.Response, exc: ProtocolError) -> Flow[None]:
        """An answer we cannot use may still carry the rotated refresh token: Okta has
        already retired the one we sent, so keep (and store) the new one before failing."""
        if not response.is_success or self._tokens is None:
            return
        try:
            rotated = usable_refresh_token(json_body(response))
        except OktaAuthError:
            return
        if rotated is None or rotated == self._tokens.refresh_token:
            return
        log.warning("Keeping the rotated refresh token of an unusable token answer (%s)", exc)
        yield from self._keep_refresh_token(rotated)

    def _refresh_token(self) -> str:
        if self._tokens is None:
            raise LoginRequired("There are no tokens yet: log in first.")
        token = self._tokens.refresh_token
        if token is None:
            raise LoginRequired(
                "There is no refresh token, so the access token cannot be renewed: log in "
                "again. To stay logged in, request the offline_access scope and enable the "
                "Refresh Token grant type for the app."
            )
        if digest(token) == self._dead_refresh_digest:
            raise LoginRequired("The refresh token was refused by Okta: log in again.")
        return token

    def _verified_claims(self, tokens: TokenSet) -> Flow[dict[str, Any] | None]:
        """The new ID token's claims, or None: an ID token that cannot be verified (bad
        signature or claims, keys unreachable) is dropped, never the tokens that came with it
        (the refresh token in them has replaced the one we sent)."""
        if not (self._verify and tokens.id_token):
            return None
        old = self._tokens.id_token if self._tokens else None
        try:
            return (yield from self.verifier.refreshed_id_token_flow(
                tokens.id_token, old, self._id_claims, now=self._clock() + self.skew,
                access_token=tokens.access_token,
            ))  # fmt: skip
        except OktaAuthError as exc:
            log.warning("The refreshed ID token was not kept: %s", exc)
            return None

    def _revoke(self, tokens: TokenSet) -> Flow[None]:
        metadata = yield from discovery_flow(self.config.issuer, self._discovery)
        endpoint = metadata.endpoint("revocation_endpoint")
        pairs = ((tokens.refresh_token, "refresh_token"), (tokens.access_token, "access_token"))
        for token, hint in pairs:
            if token:
                response = yield revoke_request(self.config, endpoint, token, hint)
                if response is not None and not response.is_success:
                    raise error_from_response(response, self._clock())
