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
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, NoReturn, TypeVar

import anyio
import httpx

from ._config import OktaConfig
from ._discovery import DiscoveryCache
from ._exceptions import (
    ConfigError,
    LoginRequired,
    OktaAuthError,
    ProtocolError,
    TransientError,
)
from ._lendable import Lendable
from ._models import TokenSet
from ._secret import refuse_pickle
from ._signing import Ready
from ._steps import LOCK, UNLOCK, Flow
from ._verify import TokenVerifier
from .store import _holders
from .store._base import TokenStore
from .store._entry import EntryKey
from .store._link import StoreLink

__all__ = ["OktaAuth"]

log = logging.getLogger("okta_nb_auth")
T = TypeVar("T")


def _again(failure: OktaAuthError) -> OktaAuthError:
    # Each waiter raises its own copy: one instance raised in many threads would share,
    # and keep growing, one traceback.
    clone = copy.copy(failure)
    clone.__cause__ = failure.__cause__
    return clone


class OktaAuth(Lendable):
    """Attach a fresh Okta access token to every request.

    ``grant`` is ``"refresh_token"`` (user sessions) or ``"client_credentials"`` (service
    apps, which fetch a new token instead of refreshing). ``leeway``: refresh this many
    seconds before expiry, capped at half the token's lifetime. ``on_tokens`` receives the
    new :class:`TokenSet` after every refresh. ``clock`` / ``sleep`` / ``async_sleep`` are
    injectable for tests. ``max_retries`` bounds retries of transient token-endpoint
    failures; a rate limit resetting more than ``max_wait`` seconds ahead is not waited for.
    ``store``: a :class:`~okta_nb_auth.store.TokenStore` that keeps the login across
    restarts and shares it, under its lock, with every process using the store (None: keep
    nothing); ``user``: which stored user (``sub``; None: the app's default user).
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
        store: TokenStore | None = None,
        user: str | None = None,
    ) -> None:
        if grant not in ("refresh_token", "client_credentials"):
            raise ValueError("grant must be 'refresh_token' or 'client_credentials'")
        self.config = config
        self._leeway = leeway
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
        self._dead_refresh_digest: str | None = None
        self._id_claims: dict[str, Any] | None = None
        self._suspect: int | None = None  # generation refreshed for a 401, not yet accepted
        self._ready: Ready | None = None  # what the fast path signs with; see _publish
        self.skew = 0.0  # server clock minus ours, from the last token response's Date
        self._link: StoreLink | None = None
        if store is not None and grant == "refresh_token":
            key = EntryKey(config.issuer, config.client_id, user)
            self._link = StoreLink(store, key, self.scopes)
        self._publish()
        if tokens is not None:
            self._save_login(tokens, None)

    @classmethod
    def from_store(
        cls, config: OktaConfig, store: TokenStore, *, user: str | None = None, **options: Any
    ) -> OktaAuth:
        """The holder of the stored login for ``config``: this process's, if one exists
        (sessions share it), else a new one with the stored tokens; :class:`LoginRequired`
        (saying how to log in) when there is none. ``options`` go to the constructor."""
        holder = cls(config, store=store, user=user, **options)._resume()
        assert isinstance(holder, OktaAuth)
        return holder

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
        (a login does), so :attr:`id_claims` is known before the first refresh. With a
        store, the tokens are saved there (unless it holds a newer copy of the same login,
        which is then used instead); ``None`` forgets the tokens here only.
        """
        self._tokens = tokens
        self._lifetime = tokens.expires_in(self._clock()) if tokens else 0.0
        self._generation += 1
        self._failure, self._dead_refresh_digest, self._id_claims = None, None, id_claims
        self._publish()
        if tokens is not None and not self._save_login(tokens, id_claims) and notify:
            self._notify(tokens)

    # ------------------------------------------------------------------ the one flow

    def _flow(self, request: httpx.Request) -> Flow[None]:
        if self._needs_refresh():
            yield from self._refresh_or_keep(self._seen())
        seen = self._sign(request)
        response = yield request
        yield from self._answered(request, response, seen)

    def _after(
        self, request: httpx.Request, response: httpx.Response, seen: tuple[int, int]
    ) -> Flow[None] | None:
        """The rest of the flow after a fast-path answer: None unless it is a 401 or a
        refreshed token still awaits the API's verdict."""
        if response.status_code != 401 and self._suspect is None:
            return None
        return self._answered(request, response, seen)

    def _answered(
        self, request: httpx.Request, response: httpx.Response | None, seen: tuple[int, int]
    ) -> Flow[None]:
        """A 401 on the token sent (generation ``seen[0]``): refresh once, replay once."""
        self._note_answer(seen[0], response)
        if not self._should_replay(request, response) or seen[0] == self._suspect:
            return
        log.debug("API answered 401; refreshing once and replaying the request")
        yield from self._refresh_steps(seen)
        # Until the API accepts the new token, further 401s (a wrong audience, say) are
        # handed back without refreshing again: no refresh storm on a persistent 401.
        generation = self._sign(request)[0]
        self._suspect = generation
        self._note_answer(generation, (yield request))

    def _note_answer(self, generation: int, response: httpx.Response | None) -> None:
        if response is not None and response.status_code != 401 and generation == self._suspect:
            self._suspect = None

    def _seen(self) -> tuple[int, int]:
        return self._generation, self._attempts

    def _should_replay(self, request: httpx.Request, response: httpx.Response | None) -> bool:
        return (
            response is not None
            and response.status_code == 401
            and self._can_refresh()
            and isinstance(request.stream, httpx.ByteStream)  # a body we can send again
        )

    def _refresh_or_keep(self, seen: tuple[int, int]) -> Flow[None]:
        """Refresh ahead of expiry; when that fails for a reason other than a dead login,
        use the current access token while it lasts (the error stays on ``last_error``)."""
        try:
            yield from self._refresh_steps(seen)
        except (TransientError, ProtocolError, ConfigError) as exc:
            tokens = self._tokens
            if tokens is None or tokens.is_expired(0.0, self._clock()):
                raise
            log.warning(
                "Refreshing the access token failed (%s); using the current one, valid "
                "for %.0f s more.",
                type(exc).__name__,
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
            yield from self._refresh_once()
        except OktaAuthError as exc:
            self._failure = exc
            raise
        yield UNLOCK

    def _refresh_once(self) -> Flow[None]:
        link = self._link
        if link is not None:  # the store's lock, then whatever another process stored
            newer = yield from link.hold_and_read()
            if newer is not None:
                self._adopt(newer, notify=True)
                if not self._needs_refresh():
                    yield from link.release()
                    return
                # Stored long ago: its refresh token is the live one, so refresh with it.
        try:
            yield from self._fetch_and_keep(link)
        except OktaAuthError:
            if link is not None:  # the request may go on with the current token: unlock now
                yield from link.release()
            raise

    def _fetch_and_keep(self, link: StoreLink | None) -> Flow[None]:
        log.debug("Asking the token endpoint for new tokens (%s grant)", self.grant)
        try:
            tokens, lifetime, claims = yield from self._fetch_with_retries()
        except LoginRequired as exc:
            if link is not None and exc.error == "invalid_grant":
                yield from link.forget_if_ours()
            raise
        tokens = self._tokens.merged_with(tokens) if self._tokens else tokens
        if link is not None:  # the rotated refresh token reaches the store first
            yield from link.save(tokens, lifetime, claims or self._id_claims, self._clock())
            yield from link.release()
        self._store(tokens, lifetime, claims)

    def _keep_refresh_token(self, refresh_token: str) -> Flow[None]:
        """Keep a rotated refresh token from an answer that failed otherwise: in memory, in
        the store and through ``on_tokens``; the access token (and generation) stay."""
        assert self._tokens is not None
        tokens = replace(self._tokens, refresh_token=refresh_token)
        self._tokens = tokens
        self._publish()
        if self._link is not None:
            yield from self._link.save(tokens, self._lifetime, self._id_claims, self._clock())
        _holders.note(self, tokens, self._link.key if self._link is not None else None)
        self._notify(tokens)

    def refresh_flow(self) -> Flow[TokenSet]:
        """A forced refresh (for ``session.refresh()``)."""
        yield from self._refresh_steps(self._seen())
        assert self._tokens is not None
        return self._tokens

    def _store(self, tokens: TokenSet, lifetime: float, claims: dict[str, Any] | None) -> None:
        self._tokens = tokens
        self._lifetime = lifetime
        self._generation += 1
        self._failure = None
        if claims is not None:
            self._id_claims = claims
        self._publish()
        log.debug("Stored new tokens (generation %d)", self._generation)
        _holders.note(self, tokens, self._link.key if self._link is not None else None)
        self._notify(tokens)

    def _notify(self, tokens: TokenSet) -> None:
        if self.on_tokens is None:
            return
        try:
            self.on_tokens(tokens)
        except Exception:  # a failing callback must not fail the API request that was fine
            log.exception("The on_tokens callback raised")

    def logout_flow(self) -> Flow[None]:
        """Revoke the refresh token, then the access token, forget both and delete the
        store entry. All of that happens even when a revocation fails; its error is raised
        after."""
        yield LOCK
        failure: OktaAuthError | None = None
        try:
            if self._tokens is not None:
                yield from self._revoke(self._tokens)
        except OktaAuthError as exc:
            failure = exc
        finally:
            self.set_tokens(None)
        if self._link is not None:
            yield from self._link.forget()
        if failure is not None:
            raise failure
        yield UNLOCK

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        refuse_pickle("An OktaAuth (the holder of a login's refresh token)")

    def __repr__(self) -> str:
        return (
            f"OktaAuth(issuer={self.config.issuer!r}, grant={self.grant!r}, "
            f"tokens={self._tokens!r})"
        )
