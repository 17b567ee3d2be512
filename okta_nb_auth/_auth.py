"""OktaAuth: an :class:`httpx.Auth` that keeps the access token fresh.

All behaviour lives in one generator, :meth:`OktaAuth._flow`. It yields

* :class:`httpx.Request` s: the caller's request (sent by httpx, so API responses still stream)
  and its own token/discovery/JWKS requests (sent by the driver with the bound client, so
  their bodies are read, a network failure is thrown back in as :class:`TransientError`, and
  token responses never end up in ``response.history``);
* and three instructions: ``LOCK`` / ``UNLOCK`` around a refresh, ``Sleep`` between retries
  (see :mod:`okta_nb_auth._steps`).

The drivers (:mod:`okta_nb_auth._flowauth`) only carry these out: a thread lock, an anyio
lock, a sleep.
"""

from __future__ import annotations

import copy
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import anyio
import httpx

from ._config import OktaConfig
from ._discovery import DiscoveryCache, discovery_flow
from ._exceptions import (
    KeyFetchError,
    LoginRequired,
    OktaAuthError,
    RateLimited,
    TransientError,
)
from ._flowauth import FlowAuth
from ._models import TokenSet
from ._protocol import (
    client_credentials_request,
    error_from_response,
    parse_token_response,
    refresh_request,
    revoke_request,
    server_skew,
)
from ._steps import LOCK, UNLOCK, Flow, Sleep
from ._verify import TokenVerifier

__all__ = ["OktaAuth"]

log = logging.getLogger("okta_nb_auth")
T = TypeVar("T")


def _again(failure: OktaAuthError) -> OktaAuthError:
    # Each waiter raises its own copy: one instance raised in many threads would share,
    # and keep growing, one traceback.
    clone = copy.copy(failure)
    clone.__cause__ = failure.__cause__
    return clone


class OktaAuth(FlowAuth):
    """Attach a fresh Okta access token to every request.

    ``grant`` is ``"refresh_token"`` (user sessions) or ``"client_credentials"`` (service
    apps, which fetch a new token instead of refreshing). ``leeway``: refresh this many
    seconds before expiry, capped at half the token's lifetime. ``on_tokens`` receives the
    new :class:`TokenSet` after every refresh. ``clock`` / ``sleep`` / ``async_sleep`` are
    injectable for tests. ``max_retries`` bounds retries of transient token-endpoint
    failures; a rate limit resetting more than ``max_wait`` seconds ahead is not waited for.
    """

    def __init__(
        self,
        config: OktaConfig,
        tokens: TokenSet | None = None,
        *,
        leeway: float = 60.0,
        on_tokens: Callable[[TokenSet], object] | None = None,
        grant: str = "refresh_token",
        scopes: tuple[str, ...] | None = None,
        verify_id_tokens: bool = True,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
        async_sleep: Callable[[float], Awaitable[object]] = anyio.sleep,
        max_retries: int = 3,
        max_wait: float = 30.0,
        discovery: DiscoveryCache | None = None,
    ) -> None:
        if grant not in ("refresh_token", "client_credentials"):
            raise ValueError("grant must be 'refresh_token' or 'client_credentials'")
        self.config = config
        self.leeway = leeway
        self.on_tokens = on_tokens
        self.grant = grant
        self.scopes = config.scopes if scopes is None else scopes
        self._verify = verify_id_tokens and grant == "refresh_token"
        super().__init__(sleep=sleep, async_sleep=async_sleep)
        self._clock = clock
        self._max_retries, self._max_wait = max_retries, max_wait
        self._discovery = discovery
        self.verifier = TokenVerifier(config, clock=clock, discovery=discovery)
        self._tokens = tokens
        self._lifetime = tokens.expires_in(clock()) if tokens else 0.0
        self._generation = 0  # bumped by every stored token set
        self._attempts = 0  # bumped by every refresh attempt (successful or not)
        self._failure: OktaAuthError | None = None
        self._dead_refresh_token: str | None = None
        self._id_claims: dict[str, Any] | None = None
        self._suspect: int | None = None  # generation refreshed for a 401, not yet accepted
        self.skew = 0.0  # server clock minus ours, from the last token response's Date

    # ------------------------------------------------------------------ public state

    @property
    def tokens(self) -> TokenSet | None:
        """The current tokens (a masked repr is safe to print)."""
        return self._tokens

    @property
    def id_claims(self) -> dict[str, Any] | None:
        """Claims of the last verified ID token."""
        return self._id_claims

    @property
    def last_error(self) -> OktaAuthError | None:
        """The error of the last refresh, until new tokens are stored (None after success).

        A :class:`LoginRequired` here means the session needs a new login.
        """
        return self._failure

    def set_tokens(
        self,
        tokens: TokenSet | None,
        *,
        notify: bool = False,
        id_claims: dict[str, Any] | None = None,
    ) -> None:
        """Replace the tokens (for example after a login); ``notify`` calls ``on_tokens``.

        ``id_claims`` are the claims of ``tokens.id_token`` when the caller has verified it
        (a login does), so :attr:`id_claims` is known before the first refresh.
        """
        self._tokens = tokens
        self._lifetime = tokens.expires_in(self._clock()) if tokens else 0.0
        self._generation += 1
        self._failure, self._dead_refresh_token, self._id_claims = None, None, id_claims
        if notify and tokens is not None:
            self._notify(tokens)

    # ------------------------------------------------------------------ the one flow

    def _flow(self, request: httpx.Request) -> Flow[None]:
        if self._needs_refresh():
            yield from self._refresh_or_keep(self._seen())
        seen = self._seen()
        self._sign(request)
        response = yield request
        self._note_answer(seen[0], response)
        if not self._should_replay(request, response) or seen[0] == self._suspect:
            return
        log.debug("API answered 401; refreshing once and replaying the request")
        yield from self._refresh_steps(seen)
        # Until the API accepts the new token, further 401s (a wrong audience, say) are
        # handed back without refreshing again: no refresh storm on a persistent 401.
        self._suspect = self._generation
        self._sign(request)
        self._note_answer(self._generation, (yield request))

    def _note_answer(self, generation: int, response: httpx.Response | None) -> None:
        if response is not None and response.status_code != 401 and generation == self._suspect:
            self._suspect = None

    def _seen(self) -> tuple[int, int]:
        return self._generation, self._attempts

    def _can_refresh(self) -> bool:
        return self.grant == "client_credentials" or bool(
            self._tokens and self._tokens.refresh_token
        )

    def _needs_refresh(self) -> bool:
        tokens, now = self._tokens, self._clock()
        if tokens is None:
            return True
        if not self._can_refresh():  # use the token while it lasts, then say so
            return tokens.is_expired(0.0, now)
        # A leeway longer than half the lifetime would make every request refresh.
        return tokens.is_expired(min(self.leeway, max(self._lifetime, 0.0) / 2), now)

    def _should_replay(self, request: httpx.Request, response: httpx.Response | None) -> bool:
        return (
            response is not None
            and response.status_code == 401
            and self._can_refresh()
            and isinstance(request.stream, httpx.ByteStream)  # a body we can send again
        )

    def _sign(self, request: httpx.Request) -> None:
        if self._tokens is None:
            raise LoginRequired("There are no tokens: log in first.")
        request.headers["Authorization"] = f"Bearer {self._tokens.access_token}"

    def _refresh_or_keep(self, seen: tuple[int, int]) -> Flow[None]:
        try:
            yield from self._refresh_steps(seen)
        except TransientError:
            tokens = self._tokens
            if tokens is None or tokens.is_expired(0.0, self._clock()):
                raise
            log.warning(
                "Refreshing the access token failed for now; using the current one, valid "
                "for %.0f s more.",
                tokens.expires_in(self._clock()),
            )

    def _refresh_steps(self, seen: tuple[int, int]) -> Flow[None]:
        """Single-flight: only the first of the waiters that saw ``seen`` calls Okta."""
        yield LOCK
        if self._generation != seen[0]:  # another request refreshed while we waited
            yield UNLOCK
            return
        if self._attempts != seen[1] and self._failure is not None:
            raise _again(self._failure)  # the refresh we queued behind failed: share it
        self._attempts += 1
        self._failure = None  # an attempt cancelled half-way must not resurrect an old failure
        try:
            tokens, lifetime, claims = yield from self._fetch_with_retries()
        except OktaAuthError as exc:
            self._failure = exc
            raise
        self._store(tokens, lifetime, claims)
        yield UNLOCK

    def refresh_flow(self) -> Flow[TokenSet]:
        """A forced refresh (for ``session.refresh()``)."""
        yield from self._refresh_steps(self._seen())
        assert self._tokens is not None
        return self._tokens

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
            self._dead_refresh_token = self._tokens.refresh_token if self._tokens else None
            raise
        self.skew = self.skew if skew is None else skew
        claims = yield from self._verified_claims(tokens)
        if tokens.id_token and claims is None and self._verify:
            tokens = replace(tokens, id_token=None)  # never keep an unverified ID token
        return tokens, tokens.expires_at - sent_at, claims

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
        if token == self._dead_refresh_token:
            raise LoginRequired("The refresh token was refused by Okta: log in again.")
        return token

    def _verified_claims(self, tokens: TokenSet) -> Flow[dict[str, Any] | None]:
        if not (self._verify and tokens.id_token):
            return None
        old = self._tokens.id_token if self._tokens else None
        return (yield from self.verifier.refreshed_id_token_flow(
            tokens.id_token, old, self._id_claims, now=self._clock() + self.skew
        ))  # fmt: skip

    def _store(self, tokens: TokenSet, lifetime: float, claims: dict[str, Any] | None) -> None:
        self._tokens = self._tokens.merged_with(tokens) if self._tokens else tokens
        self._lifetime = lifetime
        self._generation += 1
        self._failure = None
        if claims is not None:
            self._id_claims = claims
        log.debug("Stored new tokens (generation %d)", self._generation)
        self._notify(self._tokens)

    def _notify(self, tokens: TokenSet) -> None:
        if self.on_tokens is None:
            return
        try:
            self.on_tokens(tokens)
        except Exception:  # a failing callback must not fail the API request that was fine
            log.exception("The on_tokens callback raised")

    def logout_flow(self) -> Flow[None]:
        """Revoke the refresh token, then the access token, and forget both.

        The tokens are forgotten even when a revocation fails; its error is raised after.
        """
        yield LOCK
        tokens = self._tokens
        try:
            if tokens is not None:
                metadata = yield from discovery_flow(self.config.issuer, self._discovery)
                endpoint = metadata.endpoint("revocation_endpoint")
                pairs = (
                    (tokens.refresh_token, "refresh_token"),
                    (tokens.access_token, "access_token"),
                )
                for token, hint in pairs:
                    if token:
                        response = yield revoke_request(self.config, endpoint, token, hint)
                        if response is not None and not response.is_success:
                            raise error_from_response(response, self._clock())
        finally:
            self.set_tokens(None)
        yield UNLOCK

    def __repr__(self) -> str:
        return (
            f"OktaAuth(issuer={self.config.issuer!r}, grant={self.grant!r}, "
            f"tokens={self._tokens!r})"
        )
