"""Private files: a 0700 directory and 0600 files from creation (whatever the umask), written
atomically, and read only when they are safe (a regular file, ours, readable by nobody else).

Every failure is a :class:`StoreError` whose message says what is wrong and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from .._exceptions import StoreError

__all__ = ["private_dir", "read_private", "remove", "write_private"]

#: A stored login is a few kilobytes; anything much larger is not ours.
MAX_SIZE = 1 << 20
_POSIX = hasattr(os, "getuid")


def _uid() -> int:
    return os.getuid() if _POSIX else -1


def _os_error(action: str, path: Path, exc: OSError) -> StoreError:
    why = os.strerror(exc.errno) if exc.errno else str(exc)
    hint = " Free some disk space." if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    err = StoreError(
        f"Could not {action} {path}: {why}.{hint} Set OKTA_NB_AUTH_CACHE to a writable "
        "directory of your own, or pass store=None to keep tokens in memory only."
    )
    err.__cause__ = exc
    return err


def private_dir(path: Path) -> Path:
    """Create ``path`` (0700) if needed; refuse it when it is not a directory of ours or we
    cannot write it. An existing directory only ever loses group and other bits."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        created = _mkdir(path)
        info = os.lstat(path)
    except OSError as exc:
        raise _os_error("create the token directory", path, exc) from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise StoreError(f"{path} is not a plain directory (a symlink or a file): remove it.")
    if _POSIX and info.st_uid != _uid():
        raise StoreError(
            f"The token directory {path} belongs to another user (uid {info.st_uid}): "
            "set OKTA_NB_AUTH_CACHE to a directory of your own."
        )
    if _POSIX:
        _make_private(path, stat.S_IMODE(info.st_mode), created)
    return path


def _mkdir(path: Path) -> bool:
    """Create ``path`` (0700); False when it exists already."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return False
    return True


def _make_private(path: Path, mode: int, created: bool) -> None:
    """0700 for a directory we just created (whatever the umask); an existing one only loses
    group and other bits (a umask may have widened it), so one its owner made read-only
    stays read-only, and is refused."""
    private = 0o700 if created else mode & 0o700
    if mode != private:
        try:
            os.chmod(path, private)
        except OSError as exc:
            raise _os_error("make private", path, exc) from None
    if private & 0o300 != 0o300:
        raise StoreError(
            f"The token directory {path} is read-only (mode {private:o}), so no login "
            f"can be saved in it: make it writable for yourself (chmod 700 {path}), set "
            "OKTA_NB_AUTH_CACHE to a writable directory of your own, or pass store=None to "
            "keep tokens in memory only."
        )


def _unsafe(path: Path, info: os.stat_result) -> str | None:
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link"
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file"
    if _POSIX and info.st_uid != _uid():
        return f"it belongs to another user (uid {info.st_uid})"
    if _POSIX and stat.S_IMODE(info.st_mode) & 0o077:
        return f"other users can access it (mode {stat.S_IMODE(info.st_mode):o})"
    if info.st_size > MAX_SIZE:
        return "it is far too large"
    return None


def read_private(path: Path) -> bytes | None:
    """The file's bytes, None when there is no file, :class:`StoreError` when it is unsafe."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _os_error("read", path, exc) from None
    problem = _unsafe(path, info)
    if problem is None:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _os_error("read", path, exc) from None
        with os.fdopen(fd, "rb") as handle:
            opened = os.fstat(handle.fileno())
            if (opened.st_ino, opened.st_dev) == (info.st_ino, info.st_dev):
                return handle.read(MAX_SIZE + 1)
        problem = "it was replaced while being read"
    raise StoreError(
        f"The stored login {path} is not used: {problem}. Log in again to replace it, or "
        "delete the file."
    )


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically: a 0600 temporary file in the same directory, flushed and
    synced, renamed over it, then the directory synced. Nothing half-written is ever left."""
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    except OSError as exc:
        raise _os_error("write", path, exc) from None
    try:
        try:
            if _POSIX:
                os.fchmod(fd, 0o600)  # mkstemp's 0600, whatever the umask took away
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _os_error("write", path, exc) from None
    _sync_dir(path.parent)


def _sync_dir(directory: Path) -> None:
    if not _POSIX:
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a directory; the rename stands
        pass
    finally:
        os.close(fd)


def remove(path: Path) -> None:
    """Delete ``path`` if it exists."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _os_error("delete", path, exc) from None
    _sync_dir(path.parent)
