"""Token stores: where a login is kept so it survives kernel restarts and is shared, safely
under refresh-token rotation, by every session and process of the user.

::

    TokenStore        the protocol: load / save / delete an entry, a lock for a refresh
    ├── MemoryStore   this process only
    ├── FileStore     0600 files in a 0700 directory, atomic writes, file locks (the default)
    └── KeyringStore  the system keyring, locks from lock files

    StoreLink         one session's tie to its entry (re-read under the lock, write, delete)
    holders           one OktaAuth per login in a process, found by entry or refresh token
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach as _attach

if TYPE_CHECKING:
    from ._base import DEFAULT_LOCK_TIMEOUT, MemoryStore, TokenStore
    from ._entry import EntryKey, StoreEntry
    from ._file import CACHE_ENV, FileStore
    from ._keyring import KeyringStore
    from ._select import STORE_ENV, StoreChoice, resolve_store

__all__ = [
    "CACHE_ENV",
    "DEFAULT_LOCK_TIMEOUT",
    "STORE_ENV",
    "EntryKey",
    "FileStore",
    "KeyringStore",
    "MemoryStore",
    "StoreChoice",
    "StoreEntry",
    "TokenStore",
    "resolve_store",
]

# Imported on first access: a session that keeps nothing, or keeps it in memory, never loads
# the file or keyring stores.
_MODULES = {
    "._base": ("DEFAULT_LOCK_TIMEOUT", "MemoryStore", "TokenStore"),
    "._entry": ("EntryKey", "StoreEntry"),
    "._file": ("CACHE_ENV", "FileStore"),
    "._keyring": ("KeyringStore",),
    "._select": ("STORE_ENV", "StoreChoice", "resolve_store"),
}

if not TYPE_CHECKING:  # type checkers see the imports above, and no catch-all attribute
    __getattr__, __dir__ = _attach(__name__, _MODULES)
