"""The lock a refresh takes: a file lock (``filelock``, ``flock`` on POSIX) shared by every
process of the user, or a thread lock for the in-memory store.

A lock left by a killed process is no obstacle: the operating system drops a dead process's
``flock``. A lock held longer than ``timeout`` seconds (a hung process) gives a
:class:`StoreWarning`, and the caller carries on without it, in memory.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._exceptions import StoreError, StoreWarning

__all__ = ["FileRefreshLock", "ThreadRefreshLock"]

log = logging.getLogger("okta_nb_auth")


def _held_too_long(where: str, timeout: float) -> None:
    warnings.warn(
        f"Another holder (another process, or a session of this one) has held the token "
        f"store's refresh lock ({where}) for more than {timeout:g} s, so this session "
        "refreshes in memory without it and does not save "
        "its new tokens. If no other okta-nb-auth process is stuck, this fixes itself at the "
        "next refresh.",
        StoreWarning,
        stacklevel=2,
    )


class FileRefreshLock:
    """An exclusive lock on ``path`` across processes; ``prepare`` creates its directory."""

    def __init__(self, path: Path, timeout: float, prepare: Callable[[], object]) -> None:
        self.path, self.timeout, self._prepare = path, timeout, prepare
        self._lock: Any = None

    def _file_lock(self) -> Any:
        if self._lock is None:
            import filelock  # loaded on the first refresh, not at import

            self._lock = filelock.FileLock(self.path, mode=0o600, thread_local=False)
        return self._lock

    def acquire(self) -> bool:
        """Take the lock; False (with a warning) when it is held too long or unusable."""
        import filelock

        try:
            self._prepare()
            lock = self._file_lock()
            try:
                lock.acquire(timeout=0)
                return True
            except filelock.Timeout:
                log.info("Waiting for another process to finish refreshing (%s)", self.path)
            lock.acquire(timeout=self.timeout)
            return True
        except filelock.Timeout:
            _held_too_long(str(self.path), self.timeout)
        except (OSError, StoreError) as exc:
            warnings.warn(
                f"The token store's lock cannot be used ({exc}); carrying on in memory.",
                StoreWarning,
                stacklevel=2,
            )
        return False

    def release(self) -> None:
        self._file_lock().release()

    def is_held_elsewhere(self) -> bool:
        """True when some holder has the lock right now (for status and tests)."""
        import filelock

        probe = filelock.FileLock(self.path, mode=0o600, thread_local=False)
        try:
            probe.acquire(timeout=0)
        except filelock.Timeout:
            return True
        probe.release()
        return False


class ThreadRefreshLock:
    """The in-memory store's lock: one per entry, shared by the threads of this process."""

    def __init__(self, lock: threading.Lock, where: str, timeout: float) -> None:
        self._lock, self._where, self.timeout = lock, where, timeout

    def acquire(self) -> bool:
        if self._lock.acquire(timeout=self.timeout):
            return True
        _held_too_long(self._where, self.timeout)
        return False

    def release(self) -> None:
        self._lock.release()
