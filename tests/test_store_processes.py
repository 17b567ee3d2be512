"""The token store shared by real processes, against a dev server in the pytest process.

Children are ``tests/store_child.py`` processes, each with one ``AuthSession`` resumed from
the ``FileStore``; they speak a line protocol (one JSON answer a command). Tests synchronise
only on lines the children write (and on the dev server's own events), never on time: every
read has a timeout, so a hung child fails its test instead of hanging it, and every child is
killed and waited for by the ``spawn`` fixture.

Expiry is reached by moving the dev server's clock; each child's clock is told the server's
offset (``offset <seconds>``), so no test waits for a token to expire.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import anyio
import pytest

from okta_nb_auth import AsyncAuthSession, AuthSession, OktaConfig, TokenSet
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.devserver._state import Event
from okta_nb_auth.store import EntryKey, FileStore, StoreEntry
from okta_nb_auth.store._entry import digest

ADA = "ada@example.com"
TTL = 300  # the access token's lifetime; advancing the clock this much passes its expiry
TIMEOUT = 30.0  # seconds any one read from a child may take before the test fails
HELD = 110.0  # a token call held this long ends only when its client dies (under the
# children's HTTP timeout, within the dev server's bound on latency faults)
CHILD = Path(__file__).with_name("store_child.py")
BIN = Path(sys.executable).parent / "okta-nb-auth"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{7,}")
ASKING = "DEBUG okta_nb_auth: Asking the token endpoint for new tokens (refresh_token grant)"
LOGIN_GRANTS = ("authorization_code", "urn:ietf:params:oauth:grant-type:device_code")


# --------------------------------------------------------------------------- children


class Lines:
    """The lines of one pipe, read by a thread of their own so that every read can time
    out; ``None`` in the queue marks the end of the pipe."""

    def __init__(self, pipe: IO[str], name: str) -> None:
        self.pipe = pipe
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self.pipe:
                line = raw.rstrip("\n")
                self.seen.append(line)
                self._queue.put(line)
        finally:
            self._queue.put(None)

    def next(self, timeout: float) -> str | None:
        """The next line, or None at the end of the pipe; :class:`queue.Empty` on timeout."""
        return self._queue.get(timeout=timeout)

    def close(self) -> None:
        """Wait for the reader (the pipe has ended: its process is dead), close the pipe."""
        self._thread.join(TIMEOUT)
        if not self._thread.is_alive():
            self.pipe.close()


class Child:
    """One ``store_child.py`` process: send it commands, read its answers (with timeouts)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self.proc = proc
        self._out = Lines(proc.stdout, f"child-{proc.pid}-stdout")
        self._err = Lines(proc.stderr, f"child-{proc.pid}-stderr")

    def _log(self) -> str:
        return "\nIts stderr:\n" + "\n".join(self._err.seen)

    def send(self, *commands: str) -> None:
        """Write ``commands`` (one a line) without waiting for any answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("".join(f"{command}\n" for command in commands))
        self.proc.stdin.flush()

    def answer(self) -> dict[str, Any]:
        """The next answer line (parsed), which must report no warning."""
        try:
            line = self._out.next(TIMEOUT)
        except queue.Empty:
            pytest.fail(f"child {self.proc.pid} gave no answer within {TIMEOUT} s{self._log()}")
        if line is None:
            code = self.proc.wait(TIMEOUT)
            pytest.fail(f"child {self.proc.pid} exited ({code}) without answering{self._log()}")
        answer: dict[str, Any] = json.loads(line)
        assert answer.pop("warnings") == [], f"child {self.proc.pid} warned: {line}"
        return answer

    def ask(self, *commands: str) -> list[dict[str, Any]]:
        """Send ``commands``, then read one answer for each."""
        self.send(*commands)
        return [self.answer() for _ in commands]

    def statuses(self, n: int) -> list[int]:
        """``get <n>``: the API's statuses (a failure shows the child's error)."""
        [answer] = self.ask(f"get {n}")
        assert "statuses" in answer, answer
        return list(answer["statuses"])

    def wait_for_log(self, text: str) -> str:
        """The first stderr line (from now on) containing ``text``."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self._err.next(max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                pytest.fail(f"child {self.proc.pid} never logged {text!r}{self._log()}")
            if line is None:
                pytest.fail(f"child {self.proc.pid} ended before logging {text!r}{self._log()}")
            if text in line:
                return line

    def kill(self) -> int:
        """SIGKILL the child and wait for it; its return code."""
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(TIMEOUT)

    def finish(self) -> int:
        """Close its stdin (EOF: a clean exit) and wait; its return code."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            return self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"child {self.proc.pid} did not exit on EOF{self._log()}")

    def cleanup(self) -> None:
        """Kill the child if it still runs, wait for it, close every pipe."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(TIMEOUT)
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.close()
        except BrokenPipeError:  # buffered commands the dead child never read
            pass
        self._out.close()
        self._err.close()


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment (so ``OKTA_NB_AUTH_CACHE``, the test's private store)
    without other ``OKTA_*`` settings, unbuffered."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_") or "NB_AUTH" in k}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


Spawn = Callable[..., list[Child]]


@pytest.fixture
def spawn(fresh_dev: DevServer) -> Iterator[Spawn]:
    """``spawn(*flags, count=1)``: start ``count`` children for the dev server's native app
    at once, return them once each has said it is ready. All are killed and waited for after
    the test."""
    started: list[Child] = []
    config = fresh_dev.config("native")
    settings = json.dumps(
        {"issuer": config.issuer, "client_id": config.client_id, "scopes": list(config.scopes)}
    )

    def start(*flags: str, count: int = 1) -> list[Child]:
        batch = []
        for _ in range(count):
            proc = subprocess.Popen(
                [sys.executable, str(CHILD), settings, whoami(fresh_dev), *flags],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=child_env(),
            )
            child = Child(proc)
            started.append(child)
            batch.append(child)
        for child in batch:
            assert child.answer() == {"ready": child.proc.pid}
        return batch

    try:
        yield start
    finally:
        for child in started:
            child.cleanup()


# --------------------------------------------------------------------------- helpers


def whoami(dev: DevServer) -> str:
    return f"{dev.api_url}/whoami"


def refreshes(dev: DevServer) -> list[Event]:
    """The token calls with the refresh_token grant (whatever their outcome)."""
    return [e for e in dev.events if e.endpoint == "token" and e.grant_type == "refresh_token"]


def invalid_grants(dev: DevServer) -> list[Event]:
    return [e for e in dev.events if e.error == "invalid_grant"]


def logins(dev: DevServer) -> list[Event]:
    """Token calls that are logins (a code or a device code), not refreshes."""
    return [e for e in dev.events if e.endpoint == "token" and e.grant_type in LOGIN_GRANTS]


def strict_rotation(dev: DevServer, grace_period: int = 0, **changes: Any) -> OktaConfig:
    """Every refresh rotates the refresh token; the old one dies after ``grace_period``."""
    dev.configure_app(
        "native", rotation="ROTATE", grace_period=grace_period, access_token_ttl=TTL, **changes
    )
    return dev.config("native")


def store_login(dev: DevServer, config: OktaConfig) -> TokenSet:
    """Log Ada in here and keep the login in the (test's private) file store."""
    tokens = dev.login_as(ADA, app="native")
    with AuthSession(config, tokens, store=FileStore()):
        pass
    return tokens


def stored(config: OktaConfig) -> StoreEntry | None:
    """The file store's entry for the app's default user, read afresh."""
    return FileStore().load(EntryKey(config.issuer, config.client_id))


def assert_valid_entry(config: OktaConfig, refresh_digest: str) -> None:
    """The store holds a readable entry with that refresh token, and no half-written file."""
    entry = stored(config)
    assert entry is not None and entry.tokens.refresh_token is not None
    assert digest(entry.tokens.refresh_token) == refresh_digest
    assert list(FileStore().directory.glob(".tmp-*")) == []


def catch_fault_taken(dev: DevServer, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An event set once a token call has taken an injected fault: the server is holding
    that call (it has read the request, so its sender may now be killed)."""
    taken = threading.Event()
    state = dev.authority.store
    take = state.take_fault

    def take_fault() -> Any:
        fault = take()
        if fault is not None:
            taken.set()
        return fault

    monkeypatch.setattr(state, "take_fault", take_fault)
    return taken


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``okta-nb-auth`` as a real process (killed and waited for on a timeout)."""
    return subprocess.run(
        [str(BIN), *args], capture_output=True, text=True, timeout=60, env=child_env()
    )


def app_options(config: OktaConfig) -> tuple[str, ...]:
    return ("--issuer", config.issuer, "--client-id", config.client_id)


# --------------------------------------------------------------------------- 1. races


@pytest.mark.parametrize("count", [2, 4])
def test_processes_sharing_a_store_refresh_once_per_expiry(
    fresh_dev: DevServer, spawn: Spawn, count: int
) -> None:
    config = strict_rotation(fresh_dev, grace_period=0)
    store_login(fresh_dev, config)
    children = spawn(count=count)
    for child in children:
        assert child.ask("offset 0", "resume", "get 1") == [
            {"offset": 0.0},
            {"resumed": True},
            {"statuses": [200]},
        ]
    assert refreshes(fresh_dev) == [], "resuming a fresh login needs no token call"

    for expiry in range(1, 6):
        fresh_dev.advance_clock(TTL)
        offset = fresh_dev.clock_offset
        for child in children:  # every child's requests go out before any answer is read
            child.send(f"offset {offset!r}", "get 3")
        for child in children:
            assert child.answer() == {"offset": offset}
            answer = child.answer()
            assert answer == {"statuses": [200, 200, 200]}, f"expiry {expiry}: {answer}"
        calls = refreshes(fresh_dev)
        assert len(calls) == expiry, f"expiry {expiry}: {len(calls)} refresh calls in total"
        assert [e.status for e in calls] == [200] * expiry

    assert invalid_grants(fresh_dev) == []
    assert [child.finish() for child in children] == [0] * count


# --------------------------------------------------------------------------- 2. kill -9


def test_a_process_killed_while_its_refresh_is_held_leaves_a_usable_store(
    fresh_dev: DevServer, spawn: Spawn, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = strict_rotation(fresh_dev, grace_period=0)
    store_login(fresh_dev, config)
    [a] = spawn("--debug")
    assert a.ask("offset 0", "resume")[1] == {"resumed": True}
    taken = catch_fault_taken(fresh_dev, monkeypatch)
    fresh_dev.advance_clock(TTL)
    offset = fresh_dev.clock_offset
    fresh_dev.inject_fault(latency=HELD, count=1)  # held until A is killed (its socket closes)

    a.send(f"offset {offset!r}", "get 1")
    assert a.answer() == {"offset": offset}
    a.wait_for_log(ASKING)
    assert taken.wait(TIMEOUT), "A's token call never reached the server"
    assert a.kill() == -signal.SIGKILL  # mid-refresh: holding the lock, waiting for Okta

    [b] = spawn()
    assert b.ask(f"offset {offset!r}", "resume", "get 1")[1:] == [
        {"resumed": True},
        {"statuses": [200]},
    ]
    [state] = b.ask("state")
    assert b.finish() == 0
    fresh_dev.stop()  # the call held for A ended when A died: nothing was issued

    outcomes = sorted((e.status, e.error) for e in refreshes(fresh_dev))
    assert outcomes == [(0, "fault_client_gone"), (200, None)]
    assert invalid_grants(fresh_dev) == []
    assert logins(fresh_dev) == []
    assert_valid_entry(config, state["refresh_digest"])


def test_a_process_killed_before_storing_its_refresh_is_covered_by_the_grace_period(
    fresh_dev: DevServer, spawn: Spawn
) -> None:
    config = strict_rotation(fresh_dev, grace_period=60)  # Okta's most: B starts within it
    login = store_login(fresh_dev, config)
    assert login.refresh_token is not None
    [a] = spawn("--blocking-save")
    assert a.ask("offset 0", "resume", "get 1")[1:] == [{"resumed": True}, {"statuses": [200]}]
    fresh_dev.advance_clock(TTL)
    offset = fresh_dev.clock_offset

    a.send(f"offset {offset!r}", "get 1")
    assert a.answer() == {"offset": offset}
    assert a.answer() == {"saving": True}  # Okta answered; the rotated token is in A only
    assert [e.status for e in refreshes(fresh_dev)] == [200]
    assert a.kill() == -signal.SIGKILL
    assert_valid_entry(config, digest(login.refresh_token))  # the old login, untouched

    [b] = spawn()
    assert b.ask(f"offset {offset!r}", "resume", "get 1")[1:] == [
        {"resumed": True},
        {"statuses": [200]},
    ]
    assert [e.status for e in refreshes(fresh_dev)] == [200, 200]  # the old token, in grace

    fresh_dev.advance_clock(TTL)
    assert b.ask(f"offset {fresh_dev.clock_offset!r}", "get 1")[1] == {"statuses": [200]}
    assert [e.status for e in refreshes(fresh_dev)] == [200, 200, 200]
    assert invalid_grants(fresh_dev) == []
    assert logins(fresh_dev) == []
    [state] = b.ask("state")
    assert_valid_entry(config, state["refresh_digest"])
    assert b.finish() == 0


# --------------------------------------------------------------------------- 3. sync + async


@pytest.mark.anyio
@pytest.mark.parametrize("with_store", [False, True], ids=["no-store", "file-store"])
async def test_sync_and_async_sessions_from_one_login_refresh_once_per_expiry(
    fresh_dev: DevServer, with_store: bool
) -> None:
    config = strict_rotation(fresh_dev, grace_period=0)
    tokens = fresh_dev.login_as(ADA, app="native")
    store: dict[str, Any] = {"store": FileStore()} if with_store else {}
    sync = AuthSession(config, tokens, clock=fresh_dev.now, **store)
    async_ = AsyncAuthSession(config, tokens, clock=fresh_dev.now, **store)
    url = whoami(fresh_dev)
    try:
        assert sync.okta_auth is async_.okta_auth
        for expiry in range(1, 4):
            fresh_dev.advance_clock(TTL)
            fresh_dev.inject_fault(latency=0.3)  # a slow refresh: the other side queues on it
            start = threading.Barrier(2, timeout=TIMEOUT)
            sync_codes: list[int] = []
            async_codes: list[int] = []
            failures: list[Exception] = []

            def sync_requests(
                start: threading.Barrier = start,
                codes: list[int] = sync_codes,
                failures: list[Exception] = failures,
            ) -> None:
                try:
                    start.wait()
                    for _ in range(3):
                        codes.append(sync.get(url).status_code)
                except Exception as exc:  # reported by the test, not lost in the thread
                    failures.append(exc)

            async def one(codes: list[int] = async_codes) -> None:
                codes.append((await async_.get(url)).status_code)

            thread = threading.Thread(target=sync_requests, name=f"sync-{expiry}")
            thread.start()
            try:
                await anyio.to_thread.run_sync(start.wait)
                async with anyio.create_task_group() as group:
                    for _ in range(3):
                        group.start_soon(one)
            finally:
                await anyio.to_thread.run_sync(thread.join, TIMEOUT)
            assert not thread.is_alive(), "the sync requests hung"
            assert failures == []
            assert (sync_codes, async_codes) == ([200] * 3, [200] * 3), f"expiry {expiry}"
            assert len(refreshes(fresh_dev)) == expiry, f"expiry {expiry}"
        assert [e.status for e in refreshes(fresh_dev)] == [200] * 3
        assert invalid_grants(fresh_dev) == []
        assert sync.okta_auth is async_.okta_auth
        if with_store:
            entry = stored(config)
            assert entry is not None and sync.tokens is not None
            assert entry.tokens.refresh_token == sync.tokens.refresh_token
    finally:
        sync.close()
        await async_.aclose()


# --------------------------------------------------------------------------- 4. a new login


def test_a_running_process_picks_up_a_login_stored_after_its_refresh_token_died(
    fresh_dev: DevServer, spawn: Spawn
) -> None:
    config = strict_rotation(fresh_dev, grace_period=0, device_interval=0)
    fresh_dev.auto_approve = ADA
    store_login(fresh_dev, config)
    [a] = spawn()
    assert a.ask("offset 0", "resume", "get 1")[1:] == [{"resumed": True}, {"statuses": [200]}]

    fresh_dev.revoke_user(ADA)
    fresh_dev.advance_clock(TTL)
    [_, failed] = a.ask(f"offset {fresh_dev.clock_offset!r}", "get 1")
    assert "LoginRequired" in failed.get("types", []), failed
    assert stored(config) is None, "the dead login is still in the store"
    assert [e.error for e in invalid_grants(fresh_dev)] == ["invalid_grant"]

    done = cli("login", *app_options(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signed in as Ada Lovelace <ada@example.com>." in done.stdout
    assert stored(config) is not None

    assert a.statuses(1) == [200]  # the same process, no restart
    assert a.proc.poll() is None
    [state] = a.ask("state")
    assert_valid_entry(config, state["refresh_digest"])
    assert len(logins(fresh_dev)) == 1  # the CLI's device login, nothing else
    assert len(invalid_grants(fresh_dev)) == 1
    assert a.finish() == 0


# --------------------------------------------------------------------------- 5. the CLI


def test_the_cli_logs_in_shows_the_status_serves_a_notebook_and_logs_out(
    fresh_dev: DevServer, spawn: Spawn
) -> None:
    fresh_dev.configure_app("native", device_interval=0)
    fresh_dev.auto_approve = ADA
    config = fresh_dev.config("native")
    options = app_options(config)

    login = cli("login", *options)
    assert login.returncode == 0, login.stdout + login.stderr
    entry = stored(config)
    assert entry is not None and entry.tokens.refresh_token is not None

    status = cli("status", *options)
    assert status.returncode == 0, status.stdout + status.stderr
    shown = status.stdout + status.stderr
    assert "Signed in as Ada Lovelace <ada@example.com>" in status.stdout
    assert config.issuer in status.stdout
    assert config.client_id in status.stdout
    assert "Store:" in status.stdout
    assert re.search(r"Access token: expires in \d+:\d\d", status.stdout), status.stdout
    assert "Refresh token: yes." in status.stdout
    assert not JWT.search(shown), shown
    assert entry.tokens.refresh_token not in shown
    assert entry.tokens.access_token not in shown

    fresh_dev.clear_events()
    [notebook] = spawn()
    assert notebook.ask("resume-default", "get 1") == [{"resumed": True}, {"statuses": [200]}]
    assert notebook.finish() == 0
    assert logins(fresh_dev) == []
    assert [e for e in fresh_dev.events if e.endpoint == "token"] == []  # no token call at all

    logout = cli("logout", *options)
    assert logout.returncode == 0, logout.stdout + logout.stderr
    revokes = [e for e in fresh_dev.events if e.endpoint == "revoke"]
    assert revokes and all(e.status == 200 for e in revokes), revokes
    assert stored(config) is None

    after = cli("status", *options)
    assert after.returncode == 1, after.stdout + after.stderr
    assert "Not signed in" in after.stdout
