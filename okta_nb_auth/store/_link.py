"""StoreLink: how one :class:`~okta_nb_auth.OktaAuth` (the in-process holder of a refresh
token) keeps its store entry in step with every other process that shares it.

Only a refresh or a login touches the store, never a plain request. A refresh takes the
entry's lock, re-reads the entry, and adopts tokens that another process stored since this
one last looked (no token call); otherwise it refreshes and writes the rotated refresh token
to the store before the lock is released and before the new access token is used. These are
flow steps (``Hold``, ``Call``, ``Release``), so the same code serves sync and async
sessions. Store problems become a :class:`StoreWarning` and the session carries on in memory.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import jwt

from .._exceptions import StoreError, StoreWarning
from .._models import TokenSet
from .._steps import BlockingLock, Call, Flow, Hold, Release
from ._base import TokenStore
from ._entry import EntryKey, StoreEntry

__all__ = ["StoreLink", "login_sub"]


def login_sub(tokens: TokenSet, claims: Mapping[str, Any] | None) -> str | None:
    """Whose login: the verified claims' ``sub``, else the ID token's (read unverified: it
    only names the entry, and a refresh's verified ID token must carry the same ``sub``)."""
    if claims and "sub" in claims:
        return str(claims["sub"])
    if tokens.id_token:
        try:
            sub = jwt.decode(tokens.id_token, options={"verify_signature": False}).get("sub")
        except jwt.PyJWTError:
            return None
        return sub if isinstance(sub, str) else None
    return None


def _warn(exc: StoreError, consequence: str = "") -> None:
    warnings.warn(f"{exc}{consequence}", StoreWarning, stacklevel=3)


class StoreLink:
    """One session's tie to one entry of ``store`` (``key.sub`` None until a user is known)."""

    def __init__(self, store: TokenStore, key: EntryKey, scopes: tuple[str, ...]) -> None:
        self.store, self.key, self.scopes = store, key, scopes
        #: The entry as this session last read or wrote it.
        self.entry: StoreEntry | None = None
        self._lock: tuple[EntryKey, BlockingLock] | None = None
        self._hold: Hold | None = None

    # ------------------------------------------------------------ plain calls

    def lock(self, key: EntryKey | None = None) -> BlockingLock:
        key = key or self.key
        key = key if key.sub is not None else key.with_sub("")
        if self._lock is None or self._lock[0] != key:
            self._lock = (key, self.store.lock(key))
        return self._lock[1]

    def read(self, key: EntryKey | None = None) -> StoreEntry | None:
        """The usable stored entry (it asked for at least our scopes), or None (with a
        warning when the store holds something unusable)."""
        try:
            entry = self.store.load(key or self.key)
        except StoreError as exc:
            _warn(exc)
            return None
        return entry if entry is not None and entry.covers(self.scopes) else None

    def synced(self, entry: StoreEntry) -> None:
        """This session now holds ``entry``'s tokens (it read or wrote them)."""
        self.entry, self.key = entry, entry.key

    def write(
        self, tokens: TokenSet, lifetime: float, claims: Mapping[str, Any] | None, now: float
    ) -> None:
        """Save ``tokens`` as the entry's next revision (a warning if the store cannot)."""
        key = self.key if self.key.sub is not None else self.key.with_sub("")
        previous = self.entry if self.entry is not None and self.entry.key == key else None
        if previous is None:
            entry = StoreEntry(key, tokens, self.scopes, claims, now, now, lifetime)
        else:
            entry = previous.renewed(tokens, now, lifetime, id_claims=claims or previous.id_claims)
        try:
            self.store.save(entry)
        except StoreError as exc:
            _warn(exc, " The new tokens are kept in memory only.")
            return
        self.synced(entry)

    def save_login(
        self, tokens: TokenSet, lifetime: float, claims: Mapping[str, Any] | None, now: float
    ) -> StoreEntry | None:
        """Store the tokens of a login, under the lock. When the store already holds a newer
        version of this same login, nothing is written and that entry is returned instead."""
        sub = login_sub(tokens, claims)
        key = self.key.with_sub(sub if sub is not None else self.key.sub or "")
        lock = self.lock(key)
        acquired = lock.acquire()
        try:
            current = self.read(key)
            if current is not None and current.superseded(tokens):
                return current
            if current is not None and current.tokens == tokens:
                self.synced(current)
            elif acquired:
                self.key = key
                self.write(tokens, lifetime, claims, now)
            return None
        finally:
            if acquired:
                lock.release()

    def delete(self) -> None:
        """Remove the entry (a log-out); a warning if the store cannot."""
        try:
            self.store.delete(self.key)
        except StoreError as exc:
            _warn(exc)
        self.entry = None

    def _delete_if_ours(self) -> None:
        try:
            current = self.store.load(self.key)
        except StoreError:
            return  # unreadable: a new login replaces it
        if (
            current is not None
            and self.entry is not None
            and current.revision == self.entry.revision
        ):
            self.delete()

    # ------------------------------------------------------------ flow steps

    def hold_and_read(self) -> Flow[StoreEntry | None]:
        """Take the entry's lock, re-read it: the entry if someone else stored it since."""
        self._hold = Hold(self.lock())
        yield self._hold
        call = Call(self.read)
        yield call
        entry = call.get()
        seen = self.entry.revision if self.entry is not None else None
        return entry if entry is not None and entry.revision != seen else None

    def save(
        self, tokens: TokenSet, lifetime: float, claims: Mapping[str, Any] | None, now: float
    ) -> Flow[None]:
        """Write refreshed tokens, if this refresh holds the lock (else: memory only)."""
        if self._hold is not None and self._hold.acquired:
            call = Call(lambda: self.write(tokens, lifetime, claims, now))
            yield call
            call.get()

    def forget_if_ours(self) -> Flow[None]:
        """After ``invalid_grant``: delete the entry, unless someone stored a newer login."""
        call = Call(self._delete_if_ours)
        yield call
        call.get()

    def forget(self) -> Flow[None]:
        """Delete the entry under its lock (a log-out)."""
        hold = Hold(self.lock())
        yield hold
        call = Call(self.delete)
        yield call
        if hold.acquired:
            yield Release(hold.lock)
        call.get()

    def release(self) -> Flow[None]:
        hold, self._hold = self._hold, None
        if hold is not None and hold.acquired:
            yield Release(hold.lock)
