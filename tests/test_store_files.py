"""FileStore against the real package code and a running dev server over loopback.

Covered here:

* permissions from creation, whatever the umask (0o000, 0o077): the directories are 0700, every
  entry, default-user pointer and lock file 0600, and a temporary file is 0600 already before
  it is renamed into place; a directory a umask widened is made private again; a write syncs
  the temporary file (all of its data), renames it from the same directory, then syncs the
  directory;
* unsafe or bad files are never used: readable by others, owned by someone else, a symlink,
  corrupt JSON, JSON that is no entry, version 2 and version 0, another issuer's entry, a
  broken default-user pointer. Each gives a StoreWarning saying what is wrong and what to do
  (through ``AuthSession.from_store`` and through ``StoreLink.read``), and a new login
  replaces it with a good private file that then loads; a token directory of another user
  leaves the session working in memory;
* a cache directory that cannot be created, one its owner made read-only (it stays 0500), one
  that refuses writes, and a disk that fills up during a refresh: the session keeps working
  in memory, the old entry stays intact and no temporary file is left;
* locks: one left by a killed process costs nothing; one held by a live process longer than
  ``lock_timeout`` gives a warning, an in-memory refresh and no write to the store;
* isolation of users and apps (FileStore and MemoryStore), and the JSON format;
* no repr, and no StoreWarning of any test here, shows a full token (every token the dev server
  issues during a test is recorded and looked for).
"""

from __future__ import annotations

import errno
import gc
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import pytest

from okta_nb_auth import AuthSession, LoginRequired, OktaConfig, TokenSet
from okta_nb_auth._exceptions import StoreWarning
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.store import (
    CACHE_ENV,
    EntryKey,
    FileStore,
    MemoryStore,
    StoreEntry,
    TokenStore,
    _secure,
)
from okta_nb_auth.store._entry import digest
from okta_nb_auth.store._link import StoreLink
from okta_nb_auth.store._lock import FileRefreshLock

ADA, GRACE = "ada@example.com", "grace@example.com"
HOLDER = Path(__file__).with_name("store_lock_holder.py")
ADVICE = re.compile(r"log in again|delete the file|OKTA_NB_AUTH_CACHE|memory", re.IGNORECASE)


# ---------------------------------------------------------------- no token in any text


@dataclass
class Seen:
    """Every token the dev server issued in this test, and every StoreWarning text."""

    tokens: set[str] = field(default_factory=set)
    texts: list[str] = field(default_factory=list)

    def assert_clean(self, text: str) -> None:
        leaked = [token[:6] for token in self.tokens if token in text]
        assert not leaked, f"a full token (starting {leaked}) is in: {text[:200]}"


SEEN = Seen()


@pytest.fixture(autouse=True)
def record_tokens(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Record each issued token (every TokenSet comes from ``TokenSet.from_response``); at the
    end, no StoreWarning text of the test may contain one."""
    SEEN.tokens.clear()
    SEEN.texts.clear()
    original = vars(TokenSet)["from_response"].__func__

    def recording(cls: type[TokenSet], payload: Any, now: float | None = None) -> TokenSet:
        tokens: TokenSet = original(cls, payload, now)
        issued = (tokens.access_token, tokens.refresh_token, tokens.id_token)
        SEEN.tokens.update(token for token in issued if token)
        return tokens

    monkeypatch.setattr(TokenSet, "from_response", classmethod(recording))
    yield
    for text in SEEN.texts:
        SEEN.assert_clean(text)


@contextmanager
def store_warnings(*patterns: str) -> Iterator[list[str]]:
    """Expect StoreWarnings (any other warning is an error): each pattern matches one of them.
    The texts are handed back (filled in once the block ends) and checked for tokens."""
    texts: list[str] = []
    with pytest.warns(StoreWarning) as record:
        yield texts
    texts.extend(str(w.message) for w in record)
    SEEN.texts.extend(texts)
    for pattern in patterns:
        assert any(re.search(pattern, text) for text in texts), (pattern, texts)


@contextmanager
def no_store_warning() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        yield
    shown = [str(w.message) for w in record if issubclass(w.category, StoreWarning)]
    SEEN.texts.extend(shown)
    assert shown == []
    for w in record:  # anything else is still an error, as everywhere in the suite
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


# ---------------------------------------------------------------- helpers


class OsProxy:
    """``os`` as ``okta_nb_auth.store._secure`` sees it, with some functions replaced (so a
    fault reaches the store's files only, never pytest's own output)."""

    def __init__(self, **replaced: Callable[..., Any]) -> None:
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


def whoami(dev: DevServer) -> str:
    return f"{dev.api_url}/whoami"


def refreshes(dev: DevServer) -> list[Any]:
    return [e for e in dev.events if e.endpoint == "token" and e.grant_type == "refresh_token"]


def entry_path(store: FileStore, key: EntryKey) -> Path:
    assert key.sub is not None
    return store.directory / f"{key.name()}.json"


def pointer_path(store: FileStore, key: EntryKey) -> Path:
    return store.directory / f"{key.name('app')}.default.json"


def lock_path(store: FileStore, key: EntryKey) -> Path:
    lock = store.lock(key)
    assert isinstance(lock, FileRefreshLock)
    return lock.path


def app_key(config: OktaConfig) -> EntryKey:
    return EntryKey(config.issuer, config.client_id)


def link_for(config: OktaConfig, store: TokenStore | None = None) -> StoreLink:
    return StoreLink(store or FileStore(), app_key(config), config.scopes)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def forget_holders() -> None:
    """Drop this process's holders of closed sessions, so ``from_store`` reads the store."""
    gc.collect()


def first_login(
    dev: DevServer, user: str = ADA, app: str = "native", *, org: bool = False
) -> EntryKey:
    """Log in with a FileStore and close the session; the entry's key (with its sub)."""
    config = dev.config(app, org=org)
    with AuthSession(config, dev.login_as(user, app, org=org), store=FileStore()) as session:
        if not org:  # the demo API takes the custom server's tokens only
            assert session.get(whoami(dev)).status_code == 200
        stored = session.okta_auth.stored
        assert stored is not None and stored.key.sub
    del session
    forget_holders()
    return stored.key


def assert_private_regular_file(path: Path) -> None:
    info = os.lstat(path)
    assert stat.S_ISREG(info.st_mode), f"{path} is not a regular file"
    assert stat.S_IMODE(info.st_mode) == 0o600, oct(info.st_mode)
    assert info.st_uid == os.getuid()


def assert_unusable(config: OktaConfig, pattern: str) -> None:
    """The store's content is refused with a warning, by from_store and by StoreLink.read."""
    with store_warnings(pattern) as texts, pytest.raises(LoginRequired, match="Log in first"):
        AuthSession.from_store(config, store=FileStore())
    assert all(ADVICE.search(text) for text in texts), texts
    with store_warnings(pattern) as texts:
        assert link_for(config).read() is None
    assert all(ADVICE.search(text) for text in texts), texts


# ---------------------------------------------------------------- 1. permissions


@pytest.mark.parametrize("umask", [0o000, 0o077], ids=["umask-000", "umask-077"])
def test_every_file_is_private_from_creation(
    fresh_dev: DevServer, monkeypatch: pytest.MonkeyPatch, umask: int
) -> None:
    store = FileStore()
    renamed: list[tuple[str, int, bool, int]] = []

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        info = os.lstat(src)  # the temporary file, before it gets its final name
        renamed.append(
            (Path(src).name, stat.S_IMODE(info.st_mode), stat.S_ISREG(info.st_mode), info.st_uid)
        )
        os.replace(src, dst, **kwargs)

    monkeypatch.setattr(_secure, "os", OsProxy(replace=replace))
    fresh_dev.configure_app("native", access_token_ttl=300)
    config = fresh_dev.config("native")
    previous = os.umask(umask)
    try:
        session = AuthSession(config, fresh_dev.login_as(ADA), store=store, clock=fresh_dev.now)
        with session:
            fresh_dev.advance_clock(290)
            assert session.get(whoami(fresh_dev)).status_code == 200  # a refresh, saved
            assert len(refreshes(fresh_dev)) == 1
            stored = session.okta_auth.stored
            assert stored is not None and stored.tokens == session.tokens
    finally:
        os.umask(previous)
    key = stored.key
    assert mode(store.root) == 0o700 and mode(store.directory) == 0o700
    assert stat.S_ISDIR(os.lstat(store.directory).st_mode)
    for path in (entry_path(store, key), pointer_path(store, key), lock_path(store, key)):
        assert_private_regular_file(path)
    assert sorted(p.name for p in store.directory.iterdir()) == sorted(
        [entry_path(store, key).name, pointer_path(store, key).name, lock_path(store, key).name]
    )
    # The login wrote the entry and the pointer, the refresh the entry again: each time through
    # a temporary file that was already 0600 (mkstemp + fchmod), ours, and regular.
    assert len(renamed) == 3
    for name, bits, regular, uid in renamed:
        assert name.startswith(".tmp-") and name.endswith(".json")
        assert (bits, regular, uid) == (0o600, True, os.getuid())


def test_a_directory_a_umask_widened_is_made_private(dev: DevServer) -> None:
    store = FileStore()
    store.directory.mkdir(parents=True)
    os.chmod(store.root, 0o755)
    os.chmod(store.directory, 0o777)
    key = first_login(dev)
    assert mode(store.root) == 0o700 and mode(store.directory) == 0o700
    assert_private_regular_file(entry_path(store, key))


def test_a_write_is_synced_renamed_from_its_own_directory_then_the_directory_synced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = FileStore()
    calls: list[tuple[object, ...]] = []

    def fsync(fd: int) -> None:
        info = os.fstat(fd)
        kind = "directory" if stat.S_ISDIR(info.st_mode) else "file"
        calls.append(("fsync", kind, info.st_ino, info.st_size if kind == "file" else None))
        os.fsync(fd)

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        calls.append(("replace", Path(src), Path(dst), os.lstat(src).st_ino))
        os.replace(src, dst, **kwargs)

    monkeypatch.setattr(_secure, "os", OsProxy(fsync=fsync, replace=replace))
    key = EntryKey("https://issuer.example", "client", "sub")
    tokens = TokenSet("access-for-the-write-test", 2e9, refresh_token="refresh-for-the-test")
    store.save(StoreEntry(key, tokens, ("openid",)))
    directory = os.lstat(store.directory).st_ino
    written = [entry_path(store, key), pointer_path(store, key)]
    assert len(calls) == 3 * len(written), calls
    for n, path in enumerate(written):
        info = os.lstat(path)
        synced, renamed, synced_dir = calls[3 * n : 3 * n + 3]
        # All of the data, synced, in the very file (inode) that then gets its final name:
        assert synced == ("fsync", "file", info.st_ino, info.st_size)
        assert renamed[:1] == ("replace",) and renamed[2:] == (path, info.st_ino)
        temporary = renamed[1]
        assert isinstance(temporary, Path) and temporary.parent == store.directory
        assert temporary.name.startswith(".tmp-") and not temporary.exists()
        assert synced_dir == ("fsync", "directory", directory, None)  # the rename is durable


# ---------------------------------------------------------------- 2. unsafe or bad files


@dataclass(frozen=True)
class Damage:
    """Something wrong with an entry file, and what the warning must say about it."""

    name: str
    apply: Callable[[Path, Path, pytest.MonkeyPatch], None]
    pattern: str


def readable_by_others(path: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.chmod(path, 0o644)


def owned_by_someone_else(path: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The store sees this one file (this inode) as another user's; running as root or as a
    # normal user, nothing needs chown. A file that replaces it is a new inode, ours again.
    original = os.lstat(path)
    other = _secure._uid() + 1

    def lstat(target: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        info = os.lstat(target, *args, **kwargs)
        if (info.st_ino, info.st_dev) != (original.st_ino, original.st_dev):
            return info
        fields = list(info[:10])
        fields[stat.ST_UID] = other
        return os.stat_result(fields)

    monkeypatch.setattr(_secure, "os", OsProxy(lstat=lstat))


def symlink_to_a_valid_entry(path: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp / "elsewhere" / "entry.json"
    target.parent.mkdir(mode=0o700)
    shutil.copyfile(path, target)
    os.chmod(target, 0o600)
    path.unlink()
    path.symlink_to(target)


def corrupt_json(path: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path.write_bytes(path.read_bytes()[:40])  # cut short, as a crash of a naive writer would


def _rewrite(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    document = json.loads(path.read_bytes())
    replaced = change(document)
    path.write_text(json.dumps(document if replaced is None else replaced))


def json_that_is_no_entry(path: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _rewrite(path, lambda doc: {"hello": "world", "tokens": doc["tokens"]})


def version_2(path: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _rewrite(path, lambda doc: doc.update(version=2))


def version_0(path: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _rewrite(path, lambda doc: doc.update(version=0))


DAMAGES = [
    Damage("readable-by-others", readable_by_others, r"other users can access it \(mode 644\)"),
    Damage("other-owner", owned_by_someone_else, r"it belongs to another user \(uid \d+\)"),
    Damage("symlink", symlink_to_a_valid_entry, r"is not used: it is a symbolic link"),
    Damage("corrupt-json", corrupt_json, r"is unreadable \(it is not valid JSON\)"),
    Damage("not-an-entry", json_that_is_no_entry, r"it is not an okta-nb-auth token entry"),
    Damage(
        "version-2",
        version_2,
        r"has a newer format \(version 2; this okta-nb-auth reads version 1\): upgrade "
        r"okta-nb-auth, or log in again",
    ),
    Damage("version-0", version_0, r"has an unknown format \(version 0;.*log in again"),
]


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.name for d in DAMAGES])
def test_an_unsafe_or_bad_entry_is_refused_and_a_new_login_replaces_it(
    dev: DevServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: Damage
) -> None:
    config = dev.config("native")
    key = first_login(dev)
    path = entry_path(FileStore(), key)
    damage.apply(path, tmp_path, monkeypatch)
    elsewhere = tmp_path / "elsewhere" / "entry.json"
    kept = elsewhere.read_bytes() if elsewhere.exists() else None

    assert_unusable(config, damage.pattern)

    with store_warnings(damage.pattern):  # the login notes what it replaces
        session = AuthSession(config, dev.login_as(ADA), store=FileStore())
    with session:
        assert session.get(whoami(dev)).status_code == 200
        stored = session.okta_auth.stored
        assert stored is not None and stored.key == key
        assert_private_regular_file(path)
        loaded = FileStore().load(app_key(config))  # no warning now (they are errors)
        assert loaded is not None
        assert (loaded.revision, loaded.tokens) == (stored.revision, session.tokens)
        assert link_for(config).read() == loaded
    if kept is not None:  # the new file replaced the link, it was not written through it
        assert elsewhere.read_bytes() == kept


def test_an_entry_of_another_issuer_is_refused(dev: DevServer) -> None:
    custom, org = dev.config("native"), dev.config("native", org=True)
    assert custom.issuer != org.issuer and custom.client_id == org.client_id
    key_a = first_login(dev)
    key_b = first_login(dev, org=True)
    store = FileStore()
    shutil.copyfile(entry_path(store, key_a), entry_path(store, key_b))
    assert_private_regular_file(entry_path(store, key_b))
    pattern = r"belongs to another issuer, app or user, so it is not used: log in again"

    assert_unusable(org, pattern)
    loaded_a = FileStore().load(app_key(custom))  # issuer A's own entry is fine
    assert loaded_a is not None and loaded_a.key == key_a

    with store_warnings(pattern):
        session = AuthSession(org, dev.login_as(ADA, org=True), store=FileStore())
    with session:
        loaded_b = FileStore().load(app_key(org))
        assert loaded_b is not None and loaded_b.key.issuer == org.issuer
        assert loaded_b.tokens == session.tokens
    assert FileStore().load(app_key(custom)) == loaded_a


def test_a_broken_default_user_pointer_is_refused_and_a_login_replaces_it(
    dev: DevServer,
) -> None:
    config = dev.config("native")
    key = first_login(dev)
    store = FileStore()
    pointer = pointer_path(store, key)
    pointer.write_text('{"format": "okta-nb-auth default user", "version": 1}')  # no sub
    pattern = r"The default-user file .*\.default\.json is unreadable: log in again"
    assert_unusable(config, pattern)

    with AuthSession.from_store(config, store=FileStore(), user=key.sub) as named:
        assert named.get(whoami(dev)).json()["sub"] == ADA  # the entry itself is fine
    del named
    forget_holders()

    with AuthSession(config, dev.login_as(ADA), store=FileStore()) as session:
        assert_private_regular_file(pointer)
        assert json.loads(pointer.read_bytes())["sub"] == key.sub
    del session
    forget_holders()
    with AuthSession.from_store(config, store=FileStore()) as resumed:
        assert resumed.get(whoami(dev)).status_code == 200


def test_a_token_directory_of_another_user_leaves_the_session_in_memory(
    fresh_dev: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_dev.configure_app("native", access_token_ttl=300)
    config = fresh_dev.config("native")
    key = first_login(fresh_dev)
    store = FileStore()
    path = entry_path(store, key)
    before = path.read_bytes()
    monkeypatch.setattr(_secure, "_uid", lambda: os.getuid() + 1)  # all of it is "not ours"

    assert_unusable(config, r"it belongs to another user \(uid \d+\)")

    directory = r"The token directory .* belongs to another user .*set OKTA_NB_AUTH_CACHE"
    with store_warnings(directory, r"carrying on in memory"):
        session = AuthSession(config, fresh_dev.login_as(ADA), store=store, clock=fresh_dev.now)
    with session:
        assert session.get(whoami(fresh_dev)).status_code == 200
        assert session.okta_auth.stored is None  # nothing was written
        old = session.tokens
        fresh_dev.clear_events()
        fresh_dev.advance_clock(290)
        with store_warnings(directory):
            assert session.get(whoami(fresh_dev)).status_code == 200
        assert len(refreshes(fresh_dev)) == 1 and session.tokens != old
    assert path.read_bytes() == before


# ---------------------------------------------------------------- 3. no directory, no space


def test_a_cache_directory_that_cannot_be_created_leaves_the_session_in_memory(
    fresh_dev: DevServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    fresh_dev.configure_app("native", access_token_ttl=300)
    config = fresh_dev.config("native")
    cannot = r"Could not create the token directory .*a-file/cache.*Set OKTA_NB_AUTH_CACHE"

    with store_warnings(cannot, r"carrying on in memory"):
        session = AuthSession(
            config, fresh_dev.login_as(ADA), store=FileStore(), clock=fresh_dev.now
        )
    with session:
        assert session.get(whoami(fresh_dev)).status_code == 200
        old = session.tokens
        fresh_dev.clear_events()
        fresh_dev.advance_clock(290)
        with store_warnings(cannot):
            assert session.get(whoami(fresh_dev)).status_code == 200
        assert len(refreshes(fresh_dev)) == 1
        assert session.tokens is not None and session.tokens != old
        assert session.okta_auth.stored is None
    assert blocker.read_text() == "not a directory"


def test_a_read_only_cache_directory_stays_read_only_and_the_session_works_in_memory(
    fresh_dev: DevServer,
) -> None:
    store = FileStore()
    store.root.mkdir(mode=0o700)
    os.chmod(store.root, 0o500)  # its owner made it read-only: the store must not undo that
    fresh_dev.configure_app("native", access_token_ttl=300)
    config = fresh_dev.config("native")
    read_only = r"The token directory .*okta-cache is read-only \(mode 500\).*chmod 700"

    with store_warnings(read_only, r"carrying on in memory") as texts:
        session = AuthSession(config, fresh_dev.login_as(ADA), store=store, clock=fresh_dev.now)
    assert all(ADVICE.search(text) for text in texts), texts
    with session:
        assert session.get(whoami(fresh_dev)).status_code == 200
        old = session.tokens
        fresh_dev.clear_events()
        fresh_dev.advance_clock(290)
        with store_warnings(read_only):
            assert session.get(whoami(fresh_dev)).status_code == 200
        assert len(refreshes(fresh_dev)) == 1
        assert session.tokens is not None and session.tokens != old
        assert session.okta_auth.stored is None
    assert mode(store.root) == 0o500
    assert list(store.root.iterdir()) == []


def test_a_token_directory_that_refuses_writes_leaves_the_session_in_memory(
    fresh_dev: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a read-only mount or an ACL would (permission bits do not stop root, so the refusal
    # is the store's own file creation failing).
    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(_secure, "tempfile", SimpleNamespace(mkstemp=mkstemp))
    fresh_dev.configure_app("native", access_token_ttl=300)
    config = fresh_dev.config("native")
    store = FileStore()
    denied = r"Could not write .*\.json: Permission denied\. Set OKTA_NB_AUTH_CACHE"

    with store_warnings(denied, r"kept in memory only") as texts:
        session = AuthSession(config, fresh_dev.login_as(ADA), store=store, clock=fresh_dev.now)
    assert all(ADVICE.search(text) for text in texts), texts
    with session:
        assert session.get(whoami(fresh_dev)).status_code == 200
        old = session.tokens
        fresh_dev.clear_events()
        fresh_dev.advance_clock(290)
        with store_warnings(denied, r"kept in memory only"):
            assert session.get(whoami(fresh_dev)).status_code == 200
        assert len(refreshes(fresh_dev)) == 1
        assert session.tokens is not None and session.tokens != old
        assert session.okta_auth.stored is None
    assert [p.name for p in store.directory.iterdir() if p.suffix == ".json"] == []


def test_a_full_disk_during_a_refresh_keeps_the_old_entry_intact(
    fresh_dev: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=300)
    config = fresh_dev.config("native")
    store = FileStore()
    session = AuthSession(config, fresh_dev.login_as(ADA), store=store, clock=fresh_dev.now)
    stored = session.okta_auth.stored
    assert stored is not None
    path = entry_path(store, stored.key)
    before = path.read_bytes()
    disk = {"full": True}
    failed: list[str | None] = []  # the files the store tried to write (None: no /proc)

    def write(fd: int, data: Any) -> int:
        if disk["full"]:  # only the store's writes come here (see OsProxy)
            proc = Path(f"/proc/self/fd/{fd}")
            failed.append(os.readlink(proc) if proc.parent.is_dir() else None)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data)

    monkeypatch.setattr(_secure, "os", OsProxy(write=write))
    with session:
        fresh_dev.clear_events()
        fresh_dev.advance_clock(290)
        with store_warnings(r"No space left on device\. Free some disk space\.") as texts:
            assert session.get(whoami(fresh_dev)).status_code == 200
        assert all("kept in memory only" in text for text in texts)
        assert len(refreshes(fresh_dev)) == 1
        assert failed and all(
            name is None or name.startswith(f"{store.directory}/.tmp-") for name in failed
        )
        assert path.read_bytes() == before
        assert [p.name for p in store.directory.iterdir() if p.name.startswith(".tmp-")] == []
        assert session.tokens is not None
        rotated = session.tokens.refresh_token
        assert rotated != stored.tokens.refresh_token

        disk["full"] = False  # space again: the next refresh saves, from the in-memory token
        fresh_dev.advance_clock(290)
        assert session.get(whoami(fresh_dev)).status_code == 200
        assert len(refreshes(fresh_dev)) == 2
        loaded = FileStore().load(stored.key)
        assert loaded is not None and loaded.tokens == session.tokens
        assert digest(stored.tokens.refresh_token or "") in loaded.lineage
        assert [p.name for p in store.directory.iterdir() if p.name.startswith(".tmp-")] == []


# ---------------------------------------------------------------- 4. locks


@contextmanager
def lock_held_by_another_process(path: Path) -> Iterator[subprocess.Popen[str]]:
    """A process that holds ``path``'s lock (it said so); killed and waited for at the end."""
    child = subprocess.Popen(
        [sys.executable, str(HOLDER), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == "locked\n", (line, child.stderr.read() if child.stderr else "")
        yield child
    finally:
        child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()


def test_a_lock_left_by_a_killed_process_is_no_obstacle(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=300)
    config = fresh_dev.config("native")
    store = FileStore(lock_timeout=30)
    session = AuthSession(config, fresh_dev.login_as(ADA), store=store, clock=fresh_dev.now)
    stored = session.okta_auth.stored
    assert stored is not None
    path = lock_path(store, stored.key)
    with lock_held_by_another_process(path) as child:
        assert FileRefreshLock(path, 0, prepare=store.prepare).is_held_elsewhere()
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
    assert path.exists()  # the lock file stays; the dead process's flock is gone
    with session:
        fresh_dev.clear_events()
        fresh_dev.advance_clock(290)
        with no_store_warning():
            assert session.get(whoami(fresh_dev)).status_code == 200
        assert len(refreshes(fresh_dev)) == 1
        loaded = FileStore().load(stored.key)
        assert loaded is not None and loaded.revision != stored.revision
        assert loaded.tokens == session.tokens


def test_a_lock_held_too_long_gives_an_in_memory_refresh_and_no_write(
    fresh_dev: DevServer,
) -> None:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=300)
    config = fresh_dev.config("native")
    store = FileStore(lock_timeout=0.5)
    session = AuthSession(config, fresh_dev.login_as(ADA), store=store, clock=fresh_dev.now)
    stored = session.okta_auth.stored
    assert stored is not None
    path = entry_path(store, stored.key)
    before = path.read_bytes()
    with session:
        with lock_held_by_another_process(lock_path(store, stored.key)):
            fresh_dev.clear_events()
            fresh_dev.advance_clock(290)
            held = r"has held the token store's refresh lock \(.*\.lock\) for more than"
            with store_warnings(held, r"refreshes in memory without it") as texts:
                assert session.get(whoami(fresh_dev)).status_code == 200
            assert len(texts) == 1
            assert len(refreshes(fresh_dev)) == 1
            assert session.tokens != stored.tokens
            assert path.read_bytes() == before
            loaded = FileStore().load(stored.key)
            assert loaded is not None and loaded.revision == stored.revision
        # The holder is gone: the next refresh takes the lock and saves.
        fresh_dev.advance_clock(290)
        with no_store_warning():
            assert session.get(whoami(fresh_dev)).status_code == 200
        loaded = FileStore().load(stored.key)
        assert loaded is not None and loaded.revision != stored.revision
        assert loaded.tokens == session.tokens


OTHER_PROCESS = """
import json, sys
from okta_nb_auth import AuthSession, OktaConfig

args = json.loads(sys.argv[1])
config = OktaConfig(issuer=args["issuer"], client_id=args["client_id"], scopes=args["scopes"])
with AuthSession.from_store(config) as session:  # the default store: $OKTA_NB_AUTH_CACHE
    session.refresh()
print("refreshed", flush=True)
"""


def test_a_refresh_does_not_adopt_an_expired_access_token_from_the_store(
    fresh_dev: DevServer,
) -> None:
    # Another process refreshed long ago: the entry it stored is newer than ours, but its
    # access token has expired. The refresh adopts the entry's (live) refresh token and
    # refreshes with it, so a request whose body cannot be replayed still gets a 200.
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=300)
    config = fresh_dev.config("native")
    store = FileStore()
    with AuthSession(config, fresh_dev.login_as(ADA), store=store, clock=fresh_dev.now) as session:
        args = {"issuer": config.issuer, "client_id": config.client_id, "scopes": config.scopes}
        other = subprocess.run(  # kills and waits for the child on a timeout or an error
            [sys.executable, "-c", OTHER_PROCESS, json.dumps(args)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert (other.returncode, other.stdout) == (0, "refreshed\n"), other.stderr
        stored = session.okta_auth.stored
        newer = FileStore().load(app_key(config))
        assert stored is not None and newer is not None and newer.revision != stored.revision
        fresh_dev.advance_clock(600)  # ours and the other process's access tokens expired
        fresh_dev.clear_events()
        answer = session.request("GET", whoami(fresh_dev), content=iter([b"streamed"]))
        assert answer.status_code == 200, "the adopted, expired access token was sent"
        assert len(refreshes(fresh_dev)) == 1


def test_the_held_lock_warning_states_the_timeout_it_waited() -> None:
    # The warning states the timeout as given: a 0.5 s lock_timeout is "0.5 s", not
    # rounded to "0 s".
    store = MemoryStore(lock_timeout=0.5)
    key = EntryKey("https://issuer.example", "client", "sub")
    holder = store.lock(key)
    assert holder.acquire()
    try:
        with store_warnings(r"for more than") as texts:
            assert store.lock(key).acquire() is False
    finally:
        holder.release()
    assert "for more than 0.5 s" in texts[0], texts[0]


# ---------------------------------------------------------------- 5. isolation


def make_store(kind: str) -> TokenStore:
    return FileStore() if kind == "file" else MemoryStore()


def resume(
    dev: DevServer, store: TokenStore, app: str, user: str | None = None
) -> tuple[TokenSet | None, dict[str, Any]]:
    """Resume from ``store`` (after dropping any holder in this process); its tokens and
    what the API says about them."""
    forget_holders()
    with AuthSession.from_store(dev.config(app), store=store, user=user) as session:
        tokens, answer = session.tokens, session.get(whoami(dev)).json()
    del session
    forget_holders()
    return tokens, answer


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_users_and_apps_are_kept_apart(dev: DevServer, kind: str) -> None:
    store = make_store(kind)
    logins = [(ADA, "native"), (GRACE, "native"), (GRACE, "web"), (ADA, "web")]
    subs: dict[str, str] = {}
    tokens: dict[tuple[str, str], TokenSet | None] = {}
    for user, app in logins:
        with AuthSession(dev.config(app), dev.login_as(user, app), store=store) as session:
            stored = session.okta_auth.stored
            assert stored is not None and stored.key.sub
            subs[user] = stored.key.sub
            tokens[(user, app)] = session.tokens
        del session
    assert subs[ADA] != subs[GRACE]
    assert len({t.refresh_token for t in tokens.values() if t}) == 4

    for user, app in logins:
        got, answer = resume(dev, store, app, subs[user])
        assert got == tokens[(user, app)]
        assert answer["sub"] == user and answer["client_id"] == dev.config(app).client_id
    # No user: whoever logged in last with that app.
    assert resume(dev, store, "native")[1]["sub"] == GRACE
    assert resume(dev, store, "web")[1]["sub"] == ADA

    native, web = dev.config("native"), dev.config("web")
    store.delete(app_key(native).with_sub(subs[ADA]))  # not native's default user
    with pytest.raises(LoginRequired):
        resume(dev, store, "native", subs[ADA])
    assert resume(dev, store, "native")[0] == tokens[(GRACE, "native")]
    assert resume(dev, store, "web", subs[ADA])[0] == tokens[(ADA, "web")]

    store.delete(app_key(web))  # web's default user: ada
    with pytest.raises(LoginRequired):
        resume(dev, store, "web", subs[ADA])
    with pytest.raises(LoginRequired):
        resume(dev, store, "web")  # nobody is the default now
    assert resume(dev, store, "web", subs[GRACE])[0] == tokens[(GRACE, "web")]
    assert resume(dev, store, "native", subs[GRACE])[0] == tokens[(GRACE, "native")]
    if isinstance(store, FileStore):
        names = {p.name for p in store.directory.iterdir() if p.suffix == ".json"}
        assert names == {
            entry_path(store, app_key(native).with_sub(subs[GRACE])).name,
            entry_path(store, app_key(web).with_sub(subs[GRACE])).name,
            pointer_path(store, app_key(native)).name,
        }


# ---------------------------------------------------------------- 6. format, reprs


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_the_entry_file_format_and_no_token_outside_its_place(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0)
    config = fresh_dev.config("native")
    store = FileStore()
    first = fresh_dev.login_as(ADA)
    with AuthSession(config, first, store=store) as session:
        session.refresh()  # an entry with verified ID-token claims and a lineage
        stored = session.okta_auth.stored
        assert stored is not None and session.tokens is not None
        current = session.tokens
        path = entry_path(store, stored.key)
        raw = path.read_bytes()
        document = json.loads(raw)

        assert document["format"] == "okta-nb-auth token entry"
        assert document["version"] == 1
        assert document["issuer"] == config.issuer
        assert document["client_id"] == config.client_id
        assert current.id_token is not None
        sub = jwt.decode(current.id_token, options={"verify_signature": False})["sub"]
        assert document["sub"] == sub == stored.key.sub
        assert document["scopes"] == list(config.scopes)
        assert set(document) == {
            "format",
            "version",
            "issuer",
            "client_id",
            "sub",
            "scopes",
            "saved_at",
            "refreshed_at",
            "lifetime",
            "revision",
            "lineage",
            "id_claims",
            "tokens",
        }
        assert document["tokens"]["access_token"] == current.access_token
        assert document["tokens"]["refresh_token"] == current.refresh_token
        assert document["tokens"]["id_token"] == current.id_token
        assert document["lineage"] == [digest(first.refresh_token or "")]
        assert document["id_claims"]["sub"] == sub

        # Each token is in the file once, in its own field; nothing else holds a token, a
        # token's printed prefix or its masked form.
        secrets = [t for t in (current.access_token, current.refresh_token, current.id_token) if t]
        assert set(secrets) <= SEEN.tokens  # the recording works (it checks every warning)
        secrets += [t for t in (first.access_token, first.refresh_token, first.id_token) if t]
        for token in secrets:
            assert raw.count(token.encode()) == (1 if token in secrets[:3] else 0)
        rest = {k: v for k, v in document.items() if k != "tokens"}
        for text in _strings(rest):
            assert "[masked]" not in text
            assert not any(token[:6] in text for token in secrets), text
        pointer = json.loads(pointer_path(store, stored.key).read_bytes())
        assert pointer == {"format": "okta-nb-auth default user", "version": 1, "sub": sub}

        loaded = FileStore().load(app_key(config))
        assert isinstance(loaded, StoreEntry)
        texts = [repr(store), str(store), repr(FileStore()), repr(stored), str(loaded)]
        texts += [repr(loaded), repr(loaded.tokens), repr(session), repr(session.okta_auth)]
        texts += [repr(MemoryStore()), repr(link_for(config).read())]
        for text in texts:
            for token in SEEN.tokens | set(secrets):
                assert token not in text, text
        assert str(store.directory) in repr(store)
