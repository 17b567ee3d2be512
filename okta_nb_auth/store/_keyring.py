"""KeyringStore: logins in the system keyring (``keyring``), locks still from lock files.

The entry's JSON is the keyring secret, under the service ``okta-nb-auth`` and a hashed user
name; a second secret names the app's default user. A keyring has no cross-process lock, so
refreshes lock files in a private directory (by default the :class:`FileStore` directory).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from .._exceptions import StoreError
from .._steps import BlockingLock
from ._base import DEFAULT_LOCK_TIMEOUT
from ._entry import EntryKey, StoreEntry, dump_entry, load_entry
from ._file import FileStore
from ._lock import FileRefreshLock

__all__ = ["SERVICE", "KeyringStore", "recommended_backend", "working_backend"]

SERVICE = "okta-nb-auth"
_INSTALL = "pip install 'okta-nb-auth[keyring]'"
_FIX = (
    " Check the keyring backend ('python -m keyring diagnose'; it may be locked), or use the "
    "file store (store='file')."
)


@functools.cache
def recommended_backend() -> bool:
    """True when keyring is installed and its own choice is a backend it recommends (priority
    1 or more, such as macOS Keychain, Windows Credential Locker or an unlocked Secret
    Service), not a plain-text or failing one. Decided once per process: asking takes time."""
    try:
        import keyring
        from keyring.backends import chainer
    except ImportError:
        return False
    try:
        backend = keyring.get_keyring()
    except Exception:  # a backend that breaks while being chosen is no choice
        return False
    chosen = backend.backends if isinstance(backend, chainer.ChainerBackend) else [backend]
    return any(
        float(getattr(b, "priority", 0)) >= 1 and not type(b).__module__.startswith("keyrings.alt")
        for b in chosen
    )


def working_backend() -> Any:
    """The keyring backend to use, or :class:`StoreError` saying why there is none."""
    try:
        import keyring
        from keyring.backends import chainer, fail
    except ImportError:
        raise StoreError(f"The keyring store needs the keyring package: {_INSTALL}.") from None
    backend = keyring.get_keyring()
    empty = isinstance(backend, chainer.ChainerBackend) and not backend.backends
    null = type(backend).__module__ == "keyring.backends.null"
    if isinstance(backend, fail.Keyring) or empty or null:
        raise StoreError(
            "No working keyring backend was found (on a server there often is none): use the "
            "file store (the default), or install a backend such as keyrings.alt."
        )
    return backend


class KeyringStore:
    """Logins in a keyring. ``backend``: a keyring backend object (default: keyring's own
    choice, which must work). ``lock_dir``: where the refresh locks live."""

    def __init__(
        self,
        *,
        backend: Any = None,
        service: str = SERVICE,
        lock_dir: str | os.PathLike[str] | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.backend = working_backend() if backend is None else backend
        self.service = service
        self._locks = FileStore(lock_dir, lock_timeout=lock_timeout)
        self.lock_timeout = lock_timeout

    @property
    def location(self) -> str:
        name = f"{type(self.backend).__module__}.{type(self.backend).__name__}"
        return f"keyring {name} (service {self.service!r}; locks in {self._locks.location})"

    @property
    def identity(self) -> tuple[str, str]:
        return ("keyring", f"{type(self.backend).__qualname__}:{self.service}")

    def _get(self, name: str) -> str | None:
        try:
            value: str | None = self.backend.get_password(self.service, name)
        except Exception as exc:  # keyring backends raise their own error types
            raise StoreError(f"The keyring could not be read: {type(exc).__name__}.{_FIX}") from exc
        return value

    def _set(self, name: str, value: str) -> None:
        try:
            self.backend.set_password(self.service, name, value)
        except Exception as exc:
            raise StoreError(
                f"The keyring could not be written: {type(exc).__name__}.{_FIX}"
            ) from exc

    def _delete(self, name: str) -> None:
        try:
            self.backend.delete_password(self.service, name)
        except Exception as exc:
            if type(exc).__name__ != "PasswordDeleteError":  # nothing to delete
                raise StoreError(
                    f"The keyring entry could not be deleted: {type(exc).__name__}."
                ) from exc

    def _resolve(self, key: EntryKey) -> EntryKey | None:
        if key.sub is not None:
            return key
        sub = self._get(f"{key.name('app')}.default")
        return None if sub is None else key.with_sub(sub)

    def load(self, key: EntryKey) -> StoreEntry | None:
        resolved = self._resolve(key)
        raw = None if resolved is None else self._get(resolved.name())
        if raw is None or resolved is None:
            return None
        entry = load_entry(raw.encode("utf-8"), f"the keyring ({self.service})")
        if entry.key != resolved:
            raise StoreError(
                "A keyring entry belongs to another issuer, app or user, so it is not used: "
                "log in again to replace it."
            )
        return entry

    def save(self, entry: StoreEntry) -> None:
        self._set(entry.key.name(), dump_entry(entry).decode("utf-8"))
        self._set(f"{entry.key.name('app')}.default", entry.key.sub or "")

    def delete(self, key: EntryKey) -> None:
        resolved = self._resolve(key)
        if resolved is None:
            return
        self._delete(resolved.name())
        if self._resolve(key.app) == resolved:
            self._delete(f"{key.name('app')}.default")

    def lock(self, key: EntryKey) -> BlockingLock:
        locks = self._locks
        return FileRefreshLock(
            Path(locks.directory) / f"{key.name()}.lock", self.lock_timeout, prepare=locks.prepare
        )

    def __repr__(self) -> str:
        return f"KeyringStore({self.location!r})"
