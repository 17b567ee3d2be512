"""The drivers carry out ``Call``, ``Hold`` and ``Release``, and release what a failed flow held.

Flows are driven by hand with the real drivers (no network): the sync driver runs calls
inline, the async one in a worker thread, and both give a call's error back to the flow.
"""

from __future__ import annotations

import threading
from collections.abc import Generator

import anyio
import httpx
import pytest

from okta_nb_auth import AuthSession, TransientError
from okta_nb_auth._steps import (
    Call,
    Flow,
    Hold,
    Locks,
    Release,
    drive_async,
    drive_sync,
    network_error,
)
from okta_nb_auth.devserver import DevServer


class CountingLock:
    def __init__(self, grant: bool = True) -> None:
        self.grant, self.taken, self.released = grant, 0, 0
        self.threads: set[int] = set()

    def acquire(self) -> bool:
        self.threads.add(threading.get_ident())
        self.taken += self.grant
        return self.grant

    def release(self) -> None:
        self.released += 1


def holding_flow(lock: CountingLock, fail: bool) -> Flow[str]:
    hold = Hold(lock)
    yield hold
    call: Call[str] = Call(lambda: "read" if not fail else _boom())
    yield call
    try:
        value = call.get()
    except OSError as exc:
        raise RuntimeError("the flow saw the call's error") from exc
    if hold.acquired:
        yield Release(lock)
    return value


def _boom() -> str:
    raise OSError("disk full")


def run_sync(flow: Flow[str]) -> list[str]:
    out: list[str] = []
    steps: Generator[object, object, None] = drive_sync(
        flow, None, out, locks=Locks(), sleep=lambda _: None, send=lambda r: pytest.fail()
    )
    for _ in steps:
        pytest.fail("no caller request")
    return out


def run_async(flow: Flow[str]) -> list[str]:
    out: list[str] = []

    async def main() -> None:
        async def no_send(request: object) -> object:
            pytest.fail("no request")

        async for _ in drive_async(
            flow,
            None,
            out,
            locks=Locks(),
            sleep=anyio.sleep,
            send=no_send,  # type: ignore[arg-type]
        ):
            pytest.fail("no caller request")

    anyio.run(main)
    return out


@pytest.mark.parametrize("run", [run_sync, run_async], ids=["sync", "async"])
def test_a_call_returns_its_value_and_the_lock_is_released(run: object) -> None:
    lock = CountingLock()
    assert run(holding_flow(lock, fail=False)) == ["read"]  # type: ignore[operator]
    assert (lock.taken, lock.released) == (1, 1)


@pytest.mark.parametrize("run", [run_sync, run_async], ids=["sync", "async"])
def test_a_failing_flow_still_releases_what_it_held(run: object) -> None:
    lock = CountingLock()
    with pytest.raises(RuntimeError, match="the call's error"):
        run(holding_flow(lock, fail=True))  # type: ignore[operator]
    assert (lock.taken, lock.released) == (1, 1)


@pytest.mark.parametrize("run", [run_sync, run_async], ids=["sync", "async"])
def test_a_lock_not_granted_is_never_released(run: object) -> None:
    lock = CountingLock(grant=False)
    assert run(holding_flow(lock, fail=False)) == ["read"]  # type: ignore[operator]
    assert (lock.taken, lock.released) == (0, 0)


def test_the_async_driver_waits_for_a_file_lock_off_the_event_loop() -> None:
    lock = CountingLock()
    run_async(holding_flow(lock, fail=False))
    assert threading.get_ident() not in lock.threads


def test_get_before_the_call_ran_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="before the driver ran"):
        Call(lambda: 1).get()


def test_a_refused_loopback_connection_says_the_server_was_stopped() -> None:
    with DevServer(port=0) as dev:
        config, tokens = dev.config("native"), dev.login_as()
    with AuthSession(config, tokens) as session, pytest.raises(TransientError) as info:
        session.refresh()  # the dev server has stopped
    assert "Nothing answers at 127.0.0.1:" in str(info.value)
    assert "Retry later" not in str(info.value) and "first cell" in str(info.value)
    remote = httpx.ConnectError("refused", request=httpx.Request("GET", "https://example.com/"))
    assert "Retry later" in str(network_error(remote))
