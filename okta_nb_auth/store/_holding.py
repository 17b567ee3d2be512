"""StoreHolder: the store side of :class:`~okta_nb_auth.OktaAuth`.

It finds this process's holder of a stored login (for ``OktaAuth.from_store``), saves a
login's tokens, and adopts tokens that another process stored. The refresh itself, with the
store's lock, is in OktaAuth's flow; the entry bookkeeping is in :mod:`._link`.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from .._exceptions import LoginRequired, OktaAuthError, StoreWarning
from .._fetch import TokenFetcher
from .._models import TokenSet
from . import _holders
from ._base import TokenStore
from ._entry import EntryKey, StoreEntry
from ._link import StoreLink

__all__ = ["StoreHolder"]

log = logging.getLogger("okta_nb_auth")


def _resumable(entry: StoreEntry, now: float) -> bool:
    """A stored login can go on: it can be refreshed, or its access token still lasts."""
    return bool(entry.tokens.refresh_token) or not entry.tokens.is_expired(0.0, now)


class StoreHolder(TokenFetcher):
    """What OktaAuth does with a token store; :class:`~okta_nb_auth.OktaAuth` sets the state."""

    _link: StoreLink | None
    _lifetime: float
    _generation: int
    _failure: OktaAuthError | None

    def _notify(self, tokens: TokenSet) -> None:
        raise NotImplementedError

    def _publish(self) -> None:
        raise NotImplementedError  # OktaAuth: what the fast path signs with

    def _resume(self) -> StoreHolder:
        """This process's holder of the stored login (self, filled from the store, or one
        that already exists), or :class:`LoginRequired` saying how to log in."""
        auth = self
        assert auth._link is not None
        link, config = auth._link, auth.config
        entry = link.read()
        shared = _holders.by_entry(link.store, entry.key if entry is not None else link.key)
        if (
            shared is not None
            and shared._tokens is not None
            and set(link.scopes) <= set(shared.scopes)  # a narrower login never stands in
        ):
            return shared  # with no entry: kept in memory here (the store could not be written)
        if entry is None or not _resumable(entry, self._clock()):
            raise LoginRequired(
                f"There is no usable stored login for the app {config.client_id} at "
                f"{config.issuer} (store: {link.store.location}). Log in first: login() in a "
                "notebook, or `okta-nb-auth login` in a terminal; both store the tokens."
            )
        auth._adopt(entry, notify=False)
        return auth

    def attach_store(self, store: TokenStore) -> None:
        """Keep this holder's login in ``store`` from now on (a session sharing it asked for
        a store). A holder keeps one store: another one is refused with a warning."""
        if self._link is not None:
            if self._link.store.identity != store.identity:
                warnings.warn(
                    f"This login is already kept in {self._link.store.location}; the other "
                    f"store ({store.location}) is not used for it.",
                    StoreWarning,
                    stacklevel=4,  # the AuthSession(...) line that asked for the other store
                )
            return
        if self.grant != "refresh_token":
            return
        key = EntryKey(self.config.issuer, self.config.client_id)
        self._link = StoreLink(store, key, self.scopes)
        if self._tokens is not None:
            self._save_login(self._tokens, self._id_claims)

    # ------------------------------------------------------------------ public state

    @property
    def store(self) -> TokenStore | None:
        """The token store this holder keeps its login in (None: memory only)."""
        return self._link.store if self._link is not None else None

    @property
    def stored(self) -> StoreEntry | None:
        """The store entry as this holder last read or wrote it (its repr is masked)."""
        return self._link.entry if self._link is not None else None

    def _save_login(self, tokens: TokenSet, claims: dict[str, Any] | None) -> bool:
        """Register ``tokens`` (and store them); True when a newer stored copy was adopted."""
        link = self._link
        newer = None
        if link is not None:
            newer = link.save_login(tokens, self._lifetime, claims, self._clock())
        if newer is not None:
            log.info("The store holds a newer copy of this login; using it")
            self._adopt(newer, notify=True)
            return True
        _holders.note(self, tokens, link.key if link is not None else None)
        return False

    def _adopt(self, entry: StoreEntry, *, notify: bool) -> None:
        """Take the tokens another process (or an earlier kernel) stored: no token call."""
        assert self._link is not None
        self._link.synced(entry)
        self._tokens = entry.tokens
        self._lifetime = entry.lifetime or entry.tokens.expires_in(self._clock())
        self._generation += 1
        self._failure, self._dead_refresh_digest = None, None
        self._id_claims = dict(entry.id_claims) if entry.id_claims else self._id_claims
        self._publish()
        _holders.note(self, entry.tokens, entry.key)
        log.debug("Using the tokens from the store (generation %d)", self._generation)
        if notify:
            self._notify(entry.tokens)
