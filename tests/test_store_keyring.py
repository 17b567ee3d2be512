"""KeyringStore with a real keyring backend, against a running dev server over loopback.

The backend is ``keyrings.alt.file.PlaintextKeyring`` writing under a temporary
``XDG_DATA_HOME``, so the user's own keyring is never touched. Covered here:

* save / load / delete and the app's default user (the one who logged in last), each entry
  the versioned JSON document, nothing of it in files (the lock directory holds locks only);
* a refresh through ``AuthSession(config, tokens, store=...)`` writes the rotated refresh
  token to the keyring, and its lock file (0600) lies in ``lock_dir``;
* a second process (``OKTA_NB_AUTH_STORE=keyring``, the same keyring) resumes with
  ``AuthSession.from_store``, calls the API and refreshes; this process then adopts what it
  stored without a token call;
* a keyring that cannot be read, no working backend and no keyring package: a
  :class:`StoreError` or a StoreWarning that says what to do, and ``login()`` still starts;
* no StoreWarning text and no repr shows a full token.
"""

from __future__ import annotations

import gc
import json
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

from okta_nb_auth import AuthSession, LoginRequired, LoginWidget, OktaConfig, TokenSet, login
from okta_nb_auth._exceptions import StoreError, StoreWarning
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.store import CACHE_ENV, EntryKey, KeyringStore, resolve_store
from okta_nb_auth.store._entry import digest
from okta_nb_auth.store._keyring import SERVICE

ADA, GRACE = "ada@example.com", "grace@example.com"
NO_BACKEND = (
    r"No working keyring backend was found .*: use the file store \(the default\), or "
    r"install a backend such as keyrings\.alt\."
)
NO_PACKAGE = r"The keyring store needs the keyring package: pip install 'okta-nb-auth\[keyring\]'"

# ---------------------------------------------------------------- no token in any text

ISSUED: set[str] = set()
WARNED: list[str] = []


@pytest.fixture(autouse=True)
def record_tokens(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Record every token issued in the test; at the end no StoreWarning text holds one."""
    ISSUED.clear()
    WARNED.clear()
    original = vars(TokenSet)["from_response"].__func__

    def recording(cls: type[TokenSet], payload: Any, now: float | None = None) -> TokenSet:
        tokens: TokenSet = original(cls, payload, now)
        issued = (tokens.access_token, tokens.refresh_token, tokens.id_token)
        ISSUED.update(token for token in issued if token)
        return tokens

    monkeypatch.setattr(TokenSet, "from_response", classmethod(recording))
    yield
    for text in WARNED:
        assert_no_token(text)


def assert_no_token(text: str) -> None:
    leaked = [token[:6] for token in ISSUED if token in text]
    assert not leaked, f"a full token (starting {leaked}) is in: {text[:200]}"


@contextmanager
def store_warnings(*patterns: str) -> Iterator[list[str]]:
    """Expect StoreWarnings (any other warning stays an error); each pattern matches one."""
    texts: list[str] = []
    with pytest.warns(StoreWarning) as record:
        yield texts
    texts.extend(str(w.message) for w in record)
    WARNED.extend(texts)
    for pattern in patterns:
        assert any(re.search(pattern, text) for text in texts), (pattern, texts)


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


@pytest.fixture
def backend(data_home: Path) -> PlaintextKeyring:
    """A real keyring backend, made after XDG_DATA_HOME is set, so it writes there."""
    made = PlaintextKeyring()
    assert Path(made.file_path).is_relative_to(data_home)
    return made


@pytest.fixture
def lock_dir(tmp_path: Path) -> Path:
    return tmp_path / "locks"


def reopened(lock_dir: Path) -> KeyringStore:
    """The same keyring seen anew (a new backend object reads the keyring file again)."""
    return KeyringStore(backend=PlaintextKeyring(), lock_dir=lock_dir)


def app_key(config: OktaConfig) -> EntryKey:
    return EntryKey(config.issuer, config.client_id)


def whoami(dev: DevServer) -> str:
    return f"{dev.api_url}/whoami"


def refreshes(dev: DevServer) -> list[Any]:
    return [e for e in dev.events if e.endpoint == "token" and e.grant_type == "refresh_token"]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def log_in(dev: DevServer, store: KeyringStore, user: str) -> tuple[str, TokenSet]:
    """Log ``user`` in with ``store`` and close the session: the entry's sub and the tokens."""
    with AuthSession(dev.config("native"), dev.login_as(user), store=store) as session:
        stored, tokens = session.okta_auth.stored, session.tokens
    del session
    gc.collect()  # no holder of this login stays in the process: from_store reads the store
    assert stored is not None and stored.key.sub and tokens is not None
    return stored.key.sub, tokens


# ---------------------------------------------------------------- a working keyring


def test_save_load_delete_and_the_default_user(
    dev: DevServer, backend: PlaintextKeyring, lock_dir: Path
) -> None:
    config = dev.config("native")
    store = KeyringStore(backend=backend, lock_dir=lock_dir)
    ada_sub, ada_tokens = log_in(dev, store, ADA)
    grace_sub, grace_tokens = log_in(dev, store, GRACE)
    ada, grace = app_key(config).with_sub(ada_sub), app_key(config).with_sub(grace_sub)
    assert Path(backend.file_path).is_file()

    again = reopened(lock_dir)
    default = again.load(app_key(config))
    assert default is not None and default.key == grace and default.tokens == grace_tokens
    loaded_ada = again.load(ada)
    assert loaded_ada is not None and loaded_ada.tokens == ada_tokens
    document = json.loads(backend.get_password(SERVICE, ada.name()))
    assert (document["format"], document["version"]) == ("okta-nb-auth token entry", 1)
    assert (document["issuer"], document["client_id"], document["sub"]) == (
        config.issuer,
        config.client_id,
        ada_sub,
    )
    assert backend.get_password(SERVICE, f"{ada.name('app')}.default") == grace_sub

    with AuthSession.from_store(config, store=again) as session:  # the default user
        assert session.get(whoami(dev)).json()["sub"] == GRACE
    with AuthSession.from_store(config, store=again, user=ada_sub) as session:
        assert session.get(whoami(dev)).json()["sub"] == ADA
    del session
    gc.collect()

    again.delete(ada)
    assert again.load(ada) is None and backend.get_password(SERVICE, ada.name()) is None
    still = reopened(lock_dir).load(app_key(config))
    assert still is not None and still.key == grace  # grace is still the default user
    again.delete(app_key(config))  # the default user: grace, and the pointer to her
    assert reopened(lock_dir).load(app_key(config)) is None
    assert reopened(lock_dir).load(grace) is None
    assert backend.get_password(SERVICE, f"{ada.name('app')}.default") is None
    with pytest.raises(LoginRequired, match="no usable stored login"):
        AuthSession.from_store(config, store=reopened(lock_dir))

    # Nothing of a login went to a file: the lock directory holds locks only.
    assert {p.suffix for p in (lock_dir / "tokens").iterdir()} == {".lock"}
    assert not Path(os.environ[CACHE_ENV]).exists()
    shown = [repr(store), str(again), repr(default), repr(loaded_ada)]
    for text in shown:
        assert_no_token(text)
    assert "PlaintextKeyring" in repr(store) and str(lock_dir) in repr(store)


def test_a_refresh_writes_the_rotated_refresh_token_to_the_keyring(
    fresh_dev: DevServer, backend: PlaintextKeyring, lock_dir: Path
) -> None:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=300)
    config = fresh_dev.config("native")
    store = KeyringStore(backend=backend, lock_dir=lock_dir)
    first = fresh_dev.login_as(ADA)
    with AuthSession(config, first, store=store, clock=fresh_dev.now) as session:
        stored = session.okta_auth.stored
        assert stored is not None and stored.tokens == first
        fresh_dev.clear_events()
        fresh_dev.advance_clock(290)
        assert session.get(whoami(fresh_dev)).status_code == 200
        assert len(refreshes(fresh_dev)) == 1
        assert session.tokens is not None
        rotated = session.tokens.refresh_token
        assert rotated is not None and rotated != first.refresh_token

        loaded = reopened(lock_dir).load(stored.key)
        assert loaded is not None
        assert loaded.tokens.refresh_token == rotated and loaded.tokens == session.tokens
        assert loaded.revision != stored.revision
        assert digest(first.refresh_token or "") in loaded.lineage
        assert session.okta_auth.stored == loaded

    lock = lock_dir / "tokens" / f"{stored.key.name()}.lock"
    assert stat.S_ISREG(os.lstat(lock).st_mode) and mode(lock) == 0o600
    assert mode(lock_dir) == 0o700 and mode(lock_dir / "tokens") == 0o700
    assert [p.name for p in (lock_dir / "tokens").iterdir()] == [lock.name]
    assert not Path(os.environ[CACHE_ENV]).exists()


CHILD = """
import json, sys, warnings
from okta_nb_auth import AuthSession, OktaConfig
from okta_nb_auth._exceptions import StoreWarning

warnings.simplefilter("error", StoreWarning)
args = json.loads(sys.argv[1])
config = OktaConfig(issuer=args["issuer"], client_id=args["client_id"], scopes=args["scopes"])
with AuthSession.from_store(config) as session:
    store = session.okta_auth.store
    before = session.tokens.refresh_token
    answer = session.get(args["url"])
    session.refresh()
    print(json.dumps({
        "status": answer.status_code,
        "sub": answer.json()["sub"],
        "store": type(store).__name__,
        "backend": type(store.backend).__name__,
        "rotated": session.tokens.refresh_token != before,
    }))
"""


def test_a_second_process_resumes_from_the_keyring(
    fresh_dev: DevServer, backend: PlaintextKeyring, lock_dir: Path, data_home: Path
) -> None:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0)
    config = fresh_dev.config("native")
    store = KeyringStore(backend=backend, lock_dir=lock_dir)
    first = fresh_dev.login_as(ADA)
    with AuthSession(config, first, store=store) as session:
        stored = session.okta_auth.stored
        assert stored is not None
        env = dict(os.environ)
        env.update(
            PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
            XDG_DATA_HOME=str(data_home),
            OKTA_NB_AUTH_STORE="keyring",
            OKTA_NB_AUTH_CACHE=str(lock_dir),  # the same lock files as this process
        )
        args = {
            "issuer": config.issuer,
            "client_id": config.client_id,
            "scopes": list(config.scopes),
            "url": whoami(fresh_dev),
        }
        fresh_dev.clear_events()
        # subprocess.run kills and waits for the child on a timeout or any error.
        child = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(args)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert child.returncode == 0, child.stderr
        report = json.loads(child.stdout)
        assert report == {
            "status": 200,
            "sub": ADA,
            "store": "KeyringStore",
            "backend": "PlaintextKeyring",
            "rotated": True,
        }
        assert len(refreshes(fresh_dev)) == 1
        for text in (child.stdout, child.stderr):
            assert first.access_token not in text and (first.refresh_token or "-") not in text

        loaded = reopened(lock_dir).load(app_key(config))
        assert loaded is not None and loaded.revision != stored.revision
        assert loaded.tokens.refresh_token != first.refresh_token
        assert digest(first.refresh_token or "") in loaded.lineage

        # This process's refresh adopts what the child stored: no token call.
        fresh_dev.clear_events()
        assert session.refresh() == loaded.tokens
        assert refreshes(fresh_dev) == []
        assert session.get(whoami(fresh_dev)).status_code == 200


class BrokenKeyring:
    """A keyring backend whose every call fails (a locked or crashed keyring daemon)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("the keyring daemon is not answering")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("the keyring daemon is not answering")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("the keyring daemon is not answering")


def test_a_keyring_that_fails_leaves_the_session_in_memory(dev: DevServer, lock_dir: Path) -> None:
    config = dev.config("native")
    store = KeyringStore(backend=BrokenKeyring(), lock_dir=lock_dir)
    with (
        store_warnings(r"The keyring could not be read: RuntimeError\."),
        pytest.raises(LoginRequired, match="Log in first"),
    ):
        AuthSession.from_store(config, store=store)
    with store_warnings(
        r"The keyring could not be read", r"could not be written: RuntimeError\..*The new tokens"
    ):
        session = AuthSession(config, dev.login_as(ADA), store=store)
    with session:
        assert session.get(whoami(dev)).status_code == 200
        assert session.okta_auth.stored is None


# ---------------------------------------------------------------- no keyring


def finish(widget: LoginWidget) -> None:
    """Cancel and close the widget, wait for its login thread, close its session."""
    widget.close()
    attempt = widget._control.attempt
    thread: threading.Thread | None = attempt.thread if attempt is not None else None
    if thread is not None:
        thread.join(10)
        assert not thread.is_alive()
    if widget._control.session is not None:
        widget._control.session.close()


def test_without_a_working_backend(dev: DevServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    import keyring.core
    from keyring.backends import fail

    # Whatever keyring had (nothing yet, or a backend) comes back after the test.
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)
    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]

    with pytest.raises(StoreError, match=NO_BACKEND):
        KeyringStore()
    with store_warnings(NO_BACKEND + " Tokens are kept in memory only"):
        assert resolve_store("keyring") is None
    with (
        store_warnings(NO_BACKEND),
        pytest.raises(LoginRequired, match="no token store to resume from"),
    ):
        AuthSession.from_store(dev.config("native"), store="keyring")

    with store_warnings(NO_BACKEND + " Tokens are kept in memory only"):
        widget = login(
            dev.config("native"), store="keyring", display=False, flow="device", tick=None
        )
    try:
        assert widget.state in ("waiting", "starting")
        assert widget._control.store is None
    finally:
        finish(widget)
    assert widget.state == "cancelled"


def test_without_the_keyring_package(dev: DevServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(StoreError, match=NO_PACKAGE):
        KeyringStore()
    with store_warnings(NO_PACKAGE + r"\. Tokens are kept in memory only"):
        assert resolve_store("keyring") is None
    with (
        store_warnings(NO_PACKAGE),
        pytest.raises(LoginRequired, match="no token store to resume from"),
    ):
        AuthSession.from_store(dev.config("native"), store="keyring")


# ---------------------------------------------------------------- the default store


class Recommended:
    """A backend keyring recommends (priority 1 or more), like macOS Keychain."""

    priority = 5.0

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, name: str) -> str | None:
        return self.secrets.get((service, name))

    def set_password(self, service: str, name: str, value: str) -> None:
        self.secrets[(service, name)] = value

    def delete_password(self, service: str, name: str) -> None:
        self.secrets.pop((service, name), None)


@pytest.fixture
def chosen_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """What keyring.get_keyring() returns (set by the test); the cached choice is cleared."""
    import keyring

    from okta_nb_auth.store._keyring import recommended_backend

    backend: list[Any] = []
    monkeypatch.delenv("OKTA_NB_AUTH_STORE", raising=False)
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend[0])
    recommended_backend.cache_clear()
    yield backend
    recommended_backend.cache_clear()


def test_the_default_store_is_the_keyring_when_keyring_recommends_its_backend(
    chosen_backend: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from okta_nb_auth import FileStore

    chosen_backend.append(Recommended())
    store = resolve_store("default")
    assert isinstance(store, KeyringStore) and "Recommended" in store.location
    monkeypatch.setenv("OKTA_NB_AUTH_STORE", "file")  # the variable still decides first
    assert isinstance(resolve_store("default"), FileStore)


@pytest.mark.parametrize(
    "backend",
    [
        lambda: PlaintextKeyring(),
        lambda: __import__("keyring.backends.fail").backends.fail.Keyring(),
    ],
    ids=["plain-text-file", "failing"],
)
def test_the_default_store_is_the_file_store_otherwise(
    chosen_backend: list[Any], backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from okta_nb_auth import FileStore
    from okta_nb_auth.store._keyring import recommended_backend

    chosen_backend.append(backend())
    assert isinstance(resolve_store("default"), FileStore)
    recommended_backend.cache_clear()
    monkeypatch.setitem(sys.modules, "keyring", None)  # keyring not installed at all
    assert isinstance(resolve_store("default"), FileStore)
