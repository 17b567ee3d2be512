"""The :class:`TokenStore` protocol, which every store follows, and :class:`MemoryStore`.

A store loads, saves and deletes entries, and hands out one lock per entry for a refresh.
Sessions touch it only while refreshing or logging in, never on a plain request. A store
raises :class:`StoreError` for anything unusable; sessions turn that into a warning and carry
on in memory.
"""

from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from .._steps import BlockingLock
from ._entry import EntryKey, StoreEntry
from ._lock import ThreadRefreshLock

__all__ = ["DEFAULT_LOCK_TIMEOUT", "MemoryStore", "TokenStore"]

#: Seconds a refresh waits for another holder of the lock before carrying on in memory.
DEFAULT_LOCK_TIMEOUT = 60.0


@runtime_checkable
class TokenStore(Protocol):
    """Where logins are kept between refreshes, kernels and processes."""

    @property
    def location(self) -> str:
        """Where the entries are, for people (a directory, a keyring)."""
        ...

    @property
    def identity(self) -> tuple[str, str]:
        """Equal for two store objects that hold the same entries."""
        ...

    def load(self, key: EntryKey) -> StoreEntry | None:
        """The entry for ``key`` (``key.sub`` None: the app's default user), or None."""
        ...

    def save(self, entry: StoreEntry) -> None:
        """Write ``entry`` and make its user the app's default user."""
        ...

    def delete(self, key: EntryKey) -> None:
        """Remove the entry for ``key``, if there is one."""
        ...

    def lock(self, key: EntryKey) -> BlockingLock:
        """The lock a refresh of ``key``'s entry takes (shared by everyone using the store)."""
        ...


class MemoryStore:
    """Keeps logins in this process only (nothing on disk): sessions built from it share one
    login, and ``from_store`` finds it, until the process ends."""

    def __init__(self, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.lock_timeout = lock_timeout
        self._entries: dict[EntryKey, StoreEntry] = {}
        self._defaults: dict[EntryKey, str] = {}
        self._locks: dict[EntryKey, threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def location(self) -> str:
        return "memory (this process only)"

    @property
    def identity(self) -> tuple[str, str]:
        return ("memory", str(id(self)))

    def _resolve(self, key: EntryKey) -> EntryKey | None:
        if key.sub is not None:
            return key
        sub = self._defaults.get(key.app)
        return None if sub is None else key.with_sub(sub)

    def load(self, key: EntryKey) -> StoreEntry | None:
        with self._guard:
            resolved = self._resolve(key)
            return None if resolved is None else self._entries.get(resolved)

    def save(self, entry: StoreEntry) -> None:
        with self._guard:
            self._entries[entry.key] = entry
            self._defaults[entry.key.app] = entry.key.sub or ""

    def delete(self, key: EntryKey) -> None:
        with self._guard:
            resolved = self._resolve(key)
            if resolved is None:
                return
            self._entries.pop(resolved, None)
            if self._defaults.get(key.app) == resolved.sub:
                del self._defaults[key.app]

    def lock(self, key: EntryKey) -> BlockingLock:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        return ThreadRefreshLock(lock, f"memory entry of {key.client_id}", self.lock_timeout)

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._entries)} login(s))"
