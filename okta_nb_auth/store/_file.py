"""FileStore: logins kept in private files, one per issuer + app + user.

The directory is ``$OKTA_NB_AUTH_CACHE/tokens`` or the user's cache directory
(``platformdirs``), 0700; every file is 0600 from creation and written atomically (see
:mod:`._secure`). Names are hashes, so no issuer or user id ever becomes a path. Beside each
entry ``<id>.json`` lies its lock ``<id>.lock``; ``<app>.default.json`` names the app's default
user (the one who logged in last).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .._exceptions import StoreError
from .._steps import BlockingLock
from ._base import DEFAULT_LOCK_TIMEOUT
from ._entry import VERSION, EntryKey, StoreEntry, dump_entry, load_entry
from ._lock import FileRefreshLock
from ._secure import private_dir, read_private, remove, write_private

__all__ = ["CACHE_ENV", "FileStore", "default_root"]

#: The environment variable that moves the store (and its locks) to another directory.
CACHE_ENV = "OKTA_NB_AUTH_CACHE"
_POINTER = "okta-nb-auth default user"


def default_root() -> Path:
    """``$OKTA_NB_AUTH_CACHE``, else the user's cache directory for okta-nb-auth."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    import platformdirs  # only when a store is used

    return Path(platformdirs.user_cache_dir("okta-nb-auth", appauthor=False))


class FileStore:
    """Logins in 0600 files under a 0700 directory, shared by all of the user's processes.

    ``path``: the cache directory (default :func:`default_root`); entries go in its
    ``tokens`` folder. ``lock_timeout``: seconds a refresh waits for another process's
    refresh before carrying on in memory.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        root = default_root() if path is None else Path(path).expanduser()
        self.root = root.absolute()
        self.directory = self.root / "tokens"
        self.lock_timeout = lock_timeout

    @property
    def location(self) -> str:
        return str(self.directory)

    @property
    def identity(self) -> tuple[str, str]:
        return ("file", str(self.directory))

    def prepare(self) -> Path:
        """Create the private directory (and check it): :class:`StoreError` if unusable."""
        private_dir(self.root)
        return private_dir(self.directory)

    def _path(self, key: EntryKey) -> Path:
        return self.directory / f"{key.name()}.json"

    def _pointer(self, key: EntryKey) -> Path:
        return self.directory / f"{key.name('app')}.default.json"

    def _resolve(self, key: EntryKey) -> EntryKey | None:
        if key.sub is not None:
            return key
        raw = read_private(self._pointer(key))
        if raw is None:
            return None
        try:
            document = json.loads(raw)
            ok = document.get("format") == _POINTER and isinstance(document.get("sub"), str)
        except (ValueError, AttributeError, RecursionError):
            ok = False
        if not ok or document.get("version") != VERSION:
            raise StoreError(
                f"The default-user file {self._pointer(key)} is unreadable: log in again to "
                "replace it."
            )
        return key.with_sub(document["sub"])

    def load(self, key: EntryKey) -> StoreEntry | None:
        if not self.directory.is_dir():
            return None
        resolved = self._resolve(key)
        if resolved is None:
            return None
        path = self._path(resolved)
        raw = read_private(path)
        if raw is None:
            return None
        entry = load_entry(raw, str(path))
        if entry.key != resolved:
            raise StoreError(
                f"The stored login {path} belongs to another issuer, app or user, so it is "
                "not used: log in again to replace it."
            )
        return entry

    def save(self, entry: StoreEntry) -> None:
        self.prepare()
        write_private(self._path(entry.key), dump_entry(entry))
        pointer = {"format": _POINTER, "version": VERSION, "sub": entry.key.sub or ""}
        current = None
        try:
            current = self._resolve(entry.key.app)
        except StoreError:
            pass  # an unreadable pointer is replaced
        if current != entry.key:
            write_private(self._pointer(entry.key), json.dumps(pointer).encode())

    def delete(self, key: EntryKey) -> None:
        if not self.directory.is_dir():
            return
        try:
            resolved = self._resolve(key)
        except StoreError:
            resolved = None
        if resolved is None:
            return
        remove(self._path(resolved))
        try:
            default = self._resolve(key.app)
        except StoreError:
            default = None
        if default == resolved:
            remove(self._pointer(key))

    def lock(self, key: EntryKey) -> BlockingLock:
        return FileRefreshLock(
            self.directory / f"{key.name()}.lock", self.lock_timeout, prepare=self.prepare
        )

    def __repr__(self) -> str:
        return f"FileStore({self.location!r})"
