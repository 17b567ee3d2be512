"""Sessions, the widget and the README with a token store, in one process, on the dev server.

One holder per login (sessions built from one login or one store entry share an OktaAuth),
resuming with no flow, what deletes an entry and what never does, the request hot path that
touches no store (no lock, read or write), ``store=None`` keeping nothing on disk, a stored
login with fewer scopes not being used, and the README's "Calling an Okta-protected API"
example run as written.
"""

from __future__ import annotations

import gc
import re
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import anyio
import platformdirs
import pytest
from devserver_helpers import oauth_events

import okta_nb_auth.store._file as file_module
from okta_nb_auth import (
    AsyncAuthSession,
    AuthSession,
    FileStore,
    LoginRequired,
    LoginWidget,
    MemoryStore,
    OktaAuth,
    RateLimited,
    StoreWarning,
    TransientError,
    login,
)
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.store import EntryKey
from okta_nb_auth.store._link import StoreLink
from okta_nb_auth.store._lock import FileRefreshLock

ADA = "ada@example.com"
README = Path(__file__).parent.parent / "README.md"


def strict(dev: DevServer, ttl: int = 300) -> None:
    dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=ttl)


def refreshes(dev: DevServer) -> list[tuple[int, str | None]]:
    return [(e.status, e.error) for e in dev.events if e.grant_type == "refresh_token"]


def stored(dev: DevServer, store: FileStore) -> AuthSession:
    """Ada's login, stored in ``store`` (the session is returned open)."""
    return AuthSession(dev.config("native"), dev.login_as(ADA), store=store, clock=dev.now)


# ---------------------------------------------------------------- one holder per login


def test_sessions_of_one_login_share_one_holder_and_refresh_once(fresh_dev: DevServer) -> None:
    strict(fresh_dev)
    config, tokens = fresh_dev.config("native"), fresh_dev.login_as(ADA)
    sync = AuthSession(config, tokens, clock=fresh_dev.now)
    async_session = AsyncAuthSession(config, tokens, clock=fresh_dev.now)
    assert sync.okta_auth is async_session.okta_auth
    fresh_dev.clear_events()
    fresh_dev.advance_clock(301)
    fresh_dev.inject_fault(latency=0.5)  # a slow refresh: whichever side is second queues on it
    statuses: list[int] = []
    failures: list[BaseException] = []

    def in_thread() -> None:
        try:
            statuses.append(sync.get(fresh_dev.api_url + "/whoami").status_code)
        except BaseException as exc:  # reported below, not lost with the thread
            failures.append(exc)

    async def both() -> None:
        worker = threading.Thread(target=in_thread)
        worker.start()
        response = await async_session.get(fresh_dev.api_url + "/whoami")
        statuses.append(response.status_code)
        await anyio.to_thread.run_sync(worker.join, 60.0)
        assert not worker.is_alive()
        await async_session.aclose()

    anyio.run(both)
    sync.close()
    assert failures == []
    assert statuses == [200, 200]
    assert refreshes(fresh_dev) == [(200, None)]


def test_closing_one_sharing_session_leaves_the_others_working(fresh_dev: DevServer) -> None:
    config, tokens = fresh_dev.config("native"), fresh_dev.login_as(ADA)
    first = AuthSession(config, tokens)
    second = AuthSession(config, tokens)
    assert first.okta_auth is second.okta_auth
    second.close()  # the newest bound session: token calls move to the one still open
    assert first.refresh().access_token
    holder = weakref.ref(first.okta_auth)
    first.close()
    del first, second
    assert holder() is None  # a holder lives only as long as a session uses it


def test_a_store_asked_for_by_a_sharing_session_is_used(
    fresh_dev: DevServer, tmp_path: Path
) -> None:
    config, tokens = fresh_dev.config("native"), fresh_dev.login_as(ADA)
    plain = AuthSession(config, tokens)
    store = FileStore()
    kept = AuthSession(config, tokens, store=store)
    assert kept.okta_auth is plain.okta_auth and kept.okta_auth.store is store
    assert entry_of(fresh_dev, store) is not None  # the login is saved at once
    with pytest.warns(StoreWarning, match="already kept in"):
        other = AuthSession(config, tokens, store=FileStore(tmp_path / "elsewhere"))
    assert other.okta_auth is plain.okta_auth and other.okta_auth.store is store
    for session in (plain, kept, other):
        session.close()


def test_a_different_config_never_shares_a_holder(fresh_dev: DevServer) -> None:
    tokens = fresh_dev.login_as(ADA, "web")
    good = AuthSession(fresh_dev.config("web"), tokens)
    other = AuthSession(fresh_dev.config("web", client_secret="another-secret-0123456789"), tokens)
    assert good.okta_auth is not other.okta_auth
    good.close()
    other.close()


def test_sessions_from_one_store_entry_share_one_holder(fresh_dev: DevServer) -> None:
    store = FileStore()
    first = stored(fresh_dev, store)
    again = AuthSession.from_store(fresh_dev.config("native"), store=FileStore())
    async_again = AsyncAuthSession.from_store(fresh_dev.config("native"))
    assert again.okta_auth is first.okta_auth is async_again.okta_auth
    for session in (first, again):
        session.close()
    anyio.run(async_again.aclose)


def test_from_store_without_a_login_says_how_to_log_in(fresh_dev: DevServer) -> None:
    with pytest.raises(LoginRequired, match="okta-nb-auth login") as info:
        AuthSession.from_store(fresh_dev.config("native"))
    assert "login()" in str(info.value)
    with pytest.raises(LoginRequired, match="no token store"):
        AuthSession.from_store(fresh_dev.config("native"), store=None)


def test_older_tokens_of_a_login_never_overwrite_the_store(fresh_dev: DevServer) -> None:
    strict(fresh_dev)
    store = FileStore()
    old = fresh_dev.login_as(ADA)
    session = AuthSession(fresh_dev.config("native"), old, store=store, clock=fresh_dev.now)
    newer = session.refresh()
    # Another holder (as in another process) handed the same, now rotated-out, tokens:
    late = OktaAuth(fresh_dev.config("native"), old, store=FileStore(), clock=fresh_dev.now)
    assert late.tokens is not None and late.tokens.refresh_token == newer.refresh_token
    entry = store.load(EntryKey(fresh_dev.issuer, fresh_dev.app("native").client_id))
    assert entry is not None and entry.tokens.refresh_token == newer.refresh_token
    session.close()


# ---------------------------------------------------------------- what deletes an entry


def entry_of(dev: DevServer, store: FileStore) -> object:
    return store.load(EntryKey(dev.issuer, dev.app("native").client_id))


def test_invalid_grant_deletes_the_entry(fresh_dev: DevServer) -> None:
    store = FileStore()
    session = stored(fresh_dev, store)
    fresh_dev.revoke_user(ADA)
    with pytest.raises(LoginRequired):
        session.refresh()
    assert entry_of(fresh_dev, store) is None
    session.close()


@pytest.mark.parametrize("fault", [429, 503, "drop"])
def test_transient_failures_never_delete_the_entry(fresh_dev: DevServer, fault: int | str) -> None:
    store = FileStore()
    session = stored(fresh_dev, store)
    before = entry_of(fresh_dev, store)
    session.okta_auth._max_retries = 0
    if fault == "drop":
        fresh_dev.inject_fault(drop=True)
    else:
        fresh_dev.inject_fault(int(fault))
    with pytest.raises(RateLimited if fault == 429 else TransientError):
        session.refresh()
    assert entry_of(fresh_dev, store) == before
    session.close()


def test_logout_revokes_and_deletes_the_entry(fresh_dev: DevServer) -> None:
    store = FileStore()
    session = stored(fresh_dev, store)
    fresh_dev.clear_events()
    session.logout()
    assert entry_of(fresh_dev, store) is None
    assert [e.endpoint for e in oauth_events(fresh_dev)] == ["revoke", "revoke"]
    with pytest.raises(LoginRequired):
        AuthSession.from_store(fresh_dev.config("native"), store=store)
    session.close()


# ---------------------------------------------------------------- the hot path


def watch_the_store(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every touch of a FileStore from now on, in order: lock / unlock, read, save, write."""
    touched: list[str] = []

    def counted(owner: object, name: str, label: str) -> None:
        real = getattr(owner, name)

        def wrapper(*args: object) -> object:
            touched.append(label)
            return real(*args)

        monkeypatch.setattr(owner, name, wrapper)

    counted(FileRefreshLock, "acquire", "lock")
    counted(FileRefreshLock, "release", "unlock")
    counted(file_module, "read_private", "read")
    counted(FileStore, "save", "save")
    counted(file_module, "write_private", "write")
    return touched


def test_a_request_touches_the_store_only_to_refresh(
    fresh_dev: DevServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    strict(fresh_dev)
    session = stored(fresh_dev, FileStore())
    touched = watch_the_store(monkeypatch)
    for _ in range(20):
        assert session.get(fresh_dev.api_url + "/whoami").status_code == 200
    assert touched == []  # no lock, no read, no write on a plain request
    fresh_dev.advance_clock(301)
    assert session.get(fresh_dev.api_url + "/whoami").status_code == 200
    # The refresh took the entry's lock, re-read the entry and saved the rotated tokens,
    # all under the lock:
    assert (touched[0], touched[-1]) == ("lock", "unlock"), touched
    assert {"read", "save", "write"} <= set(touched[1:-1]), touched
    assert touched.count("lock") == touched.count("unlock") == 1, touched
    session.close()


def test_an_async_refresh_goes_through_the_store(fresh_dev: DevServer) -> None:
    strict(fresh_dev)
    store = FileStore()
    stored(fresh_dev, store).close()

    async def main() -> str | None:
        config = fresh_dev.config("native")
        async with AsyncAuthSession.from_store(config, store=store, clock=fresh_dev.now) as s:
            fresh_dev.advance_clock(301)
            assert (await s.get(fresh_dev.api_url + "/whoami")).status_code == 200
            return s.tokens.refresh_token if s.tokens else None

    rotated = anyio.run(main)
    entry = store.load(EntryKey(fresh_dev.issuer, fresh_dev.app("native").client_id))
    assert entry is not None and entry.tokens.refresh_token == rotated
    assert refreshes(fresh_dev) == [(200, None)]


# ---------------------------------------------------------------- what is (not) kept


def test_store_none_keeps_nothing_on_disk(
    fresh_dev: DevServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    private_token_store: Path,
) -> None:
    private_token_store.mkdir()  # OKTA_NB_AUTH_CACHE: an empty directory
    defaults = tmp_path / "platformdirs"  # and platformdirs' directories point here
    for name in ("user_cache_dir", "user_data_dir"):
        monkeypatch.setattr(platformdirs, name, lambda *a, _n=name, **k: str(defaults / _n))
    strict(fresh_dev)
    fresh_dev.auto_approve = ADA
    fresh_dev.configure_app("native", device_interval=0)
    config = fresh_dev.config("native")

    widget = login(config, flow="device", store=None, display=False)
    session = widget.wait(timeout=30)
    assert session.okta_auth.store is None
    session.refresh()
    assert session.get(fresh_dev.api_url + "/whoami").status_code == 200
    widget.logout()
    widget.close()
    session.close()

    with AuthSession(config, fresh_dev.login_as(ADA), store=None, clock=fresh_dev.now) as plain:
        fresh_dev.advance_clock(301)
        assert plain.get(fresh_dev.api_url + "/whoami").status_code == 200  # a refresh
        plain.logout()
    assert [(e.endpoint, e.status) for e in fresh_dev.events if e.endpoint == "revoke"] == [
        ("revoke", 200)
    ] * 4
    assert len(refreshes(fresh_dev)) == 2
    assert list(private_token_store.iterdir()) == []
    assert not defaults.exists()


def test_a_stored_login_with_fewer_scopes_is_not_used(fresh_dev: DevServer) -> None:
    narrow = fresh_dev.config("native", scopes="openid profile offline_access")
    wide = fresh_dev.config("native")  # also asks for email
    tokens = fresh_dev.login_as(ADA, scopes=narrow.scopes)
    AuthSession(narrow, tokens, store=FileStore()).close()
    gc.collect()  # no holder of that login is left in this process: only the store has it
    entry = FileStore().load(EntryKey(fresh_dev.issuer, narrow.client_id))
    assert entry is not None and entry.scopes == narrow.scopes
    fresh_dev.clear_events()

    with pytest.raises(LoginRequired, match="no usable stored login"):
        AuthSession.from_store(wide, store=FileStore())
    assert StoreLink(FileStore(), EntryKey(wide.issuer, wide.client_id), wide.scopes).read() is None
    # The entry itself is fine: a session asking for no more than it holds resumes from it.
    with AuthSession.from_store(narrow, store=FileStore()) as resumed:
        assert resumed.okta_auth.scopes == narrow.scopes
        assert resumed.get(fresh_dev.api_url + "/whoami").status_code == 200
    assert refreshes(fresh_dev) == []  # nothing asked Okta for the missing scope either


def test_a_live_session_with_fewer_scopes_does_not_stand_in(fresh_dev: DevServer) -> None:
    narrow = fresh_dev.config("native", scopes="openid profile offline_access")
    wide = fresh_dev.config("native")  # also asks for email
    with AuthSession(narrow, fresh_dev.login_as(ADA, scopes=narrow.scopes), store=FileStore()):
        # This process holds the narrow login; a session asking for more must not get it.
        with pytest.raises(LoginRequired, match="no usable stored login"):
            AuthSession.from_store(wide, store=FileStore())
        with AuthSession.from_store(narrow, store=FileStore()) as resumed:
            assert resumed.okta_auth.scopes == narrow.scopes


# ---------------------------------------------------------------- the widget


def test_login_resumes_from_the_store_with_no_flow(fresh_dev: DevServer) -> None:
    stored(fresh_dev, MemoryStore()).close()  # another store: not found
    store = FileStore()
    fresh_dev.auto_approve = ADA
    fresh_dev.configure_app("native", device_interval=0)
    first = login(fresh_dev.config("native"), flow="device", store=store, display=False)
    assert first.wait(timeout=30) is not None
    fresh_dev.clear_events()
    # A new widget (as after a kernel restart) finds the stored login at once:
    widget = LoginWidget(fresh_dev.config("native"), flow="device", store=store, tick=None)
    assert widget.state == "signed_in" and widget.wait(timeout=1) is not None
    assert widget.user == "Ada Lovelace <ada@example.com>"
    text = repr(widget)
    assert "The tokens came from the token store" in text and "last used just now" in text
    assert store.location in text and "eyJ" not in text
    assert fresh_dev.events == []  # no flow, no token call
    widget.logout()
    assert widget.state == "logged_out"
    assert entry_of(fresh_dev, store) is None
    for w in (first, widget):
        w.close()
        assert w._control.session is not None
        w._control.session.close()


def test_a_dead_session_picks_up_a_newer_login_from_the_store(fresh_dev: DevServer) -> None:
    strict(fresh_dev)
    store = FileStore()
    first = stored(fresh_dev, store)
    widget = LoginWidget(fresh_dev.config("native"), flow="device", store=store, tick=None)
    session = widget.wait(timeout=1)
    assert session.okta_auth is first.okta_auth
    fresh_dev.revoke_user(ADA)
    with pytest.raises(LoginRequired):
        session.refresh()
    widget.refresh_view()
    assert widget.state == "relogin"
    # Another process (here: another holder) stores a new login of the same user; the
    # revoked access token gets a 401, and the replay uses the newer stored login:
    OktaAuth(fresh_dev.config("native"), fresh_dev.login_as(ADA), store=FileStore())
    fresh_dev.clear_events()
    assert session.get(fresh_dev.api_url + "/whoami").status_code == 200
    assert refreshes(fresh_dev) == []  # adopted from the store, no token call
    widget.refresh_view()
    assert widget.state == "signed_in"
    widget.close()
    for open_session in (session, first):
        open_session.close()


# ---------------------------------------------------------------- the README, as written


def readme_api_example() -> str:
    section = README.read_text().split("## Calling an Okta-protected API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_readme_api_example_runs_as_written(
    fresh_dev: DevServer, private_token_store: Path
) -> None:
    code = readme_api_example()
    config = fresh_dev.config("native")
    env = {
        "PATH": "/usr/bin:/bin",
        "OKTA_ISSUER": config.issuer,
        "OKTA_CLIENT_ID": config.client_id,
        "OKTA_NB_AUTH_CACHE": str(private_token_store),
        "API_URL": fresh_dev.api_url,
    }
    script = code + "\nprint(type(rows).__name__, len(rows) > 0)\n"
    before = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert before.returncode == 1 and "LoginRequired" in before.stderr
    assert "okta-nb-auth login" in before.stderr  # says how to log in
    stored(fresh_dev, FileStore()).close()
    after = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert after.returncode == 0, after.stderr
    assert after.stdout.split() in (["list", "True"], ["dict", "True"])
