"""What :class:`~okta_nb_auth.OktaAuth`'s flow yields, and the two drivers that carry it out.

A flow yields :class:`httpx.Request` s and a few instructions: ``LOCK`` / ``UNLOCK`` around a
refresh, ``Sleep`` between retries, and for a token store ``Hold`` / ``Release`` (a
cross-process lock) and ``Call`` (a blocking file or keyring operation). The drivers hold no
logic of their own: they take the locks, sleep, run blocking calls (in a worker thread when
async, so the event loop never waits on a file lock), send the flow's own requests with a
bound client (throwing a network failure back into the flow as :class:`TransientError`) and
hand the caller's request to httpx. A lock still held when the flow ends or fails is released.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import anyio
import httpx

from ._exceptions import TransientError

__all__ = [
    "LOCK",
    "UNLOCK",
    "BlockingLock",
    "Call",
    "Flow",
    "Hold",
    "Locks",
    "Release",
    "Sleep",
    "drive_async",
    "drive_sync",
    "network_error",
]

T = TypeVar("T")


def network_error(exc: httpx.TransportError) -> TransientError:
    """The error tree's view of a network failure (connection refused, timeout, reset)."""
    url = exc.request.url
    if isinstance(exc, httpx.ConnectError) and url.host in ("127.0.0.1", "localhost", "::1"):
        # Nothing listens on this computer's port: retrying will not help.
        text = (
            f"Nothing answers at {url.host}:{url.port}. If that is a dev server, it was "
            "stopped (tut.close(), a kernel restart, or its process ended): start it again, "
            "for example by running the notebook's first cell."
        )
    else:
        text = f"Network error talking to {url.host}: {type(exc).__name__}. Retry later."
    err = TransientError(text)
    err.__cause__ = exc
    return err


class _Instruction:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


@dataclass(frozen=True)
class Sleep:
    """Wait this long before the next step (a retry's backoff)."""

    seconds: float


class Call(Generic[T]):
    """Run ``fn`` (blocking I/O: a file or a keyring); after the yield, the flow calls
    :meth:`get`, which returns its result or raises its error inside the flow."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self._result: T | None = None
        self._error: Exception | None = None
        self._done = False

    def run(self) -> None:
        try:
            self._result = self.fn()
        except Exception as exc:  # raised again inside the flow, where it can be handled
            self._error = exc
        self._done = True

    def get(self) -> T:
        if self._error is not None:
            raise self._error
        if not self._done:
            raise RuntimeError("Call.get() before the driver ran the call")
        return self._result  # type: ignore[return-value]


class BlockingLock(Protocol):
    """A lock that may block for a while (a file lock): ``acquire`` says whether it got it."""

    def acquire(self) -> bool: ...

    def release(self) -> None: ...


class Hold:
    """Take ``lock`` (blocking); it may give up after a bound: :attr:`acquired` says."""

    def __init__(self, lock: BlockingLock) -> None:
        self.lock = lock
        self.acquired = False

    def run_acquire(self) -> None:
        self.acquired = self.lock.acquire()


@dataclass(frozen=True)
class Release:
    """Release ``lock`` (taken with :class:`Hold`)."""

    lock: BlockingLock


LOCK, UNLOCK = _Instruction("lock"), _Instruction("unlock")
Step = httpx.Request | _Instruction | Sleep | Call[Any] | Hold | Release
Flow = Generator[Step, "httpx.Response | None", T]


class Locks:
    """One thread lock, plus an anyio lock so tasks queue without busy-waiting.

    Async callers take the anyio lock, then the thread lock without blocking the event loop,
    so threads and tasks sharing one ``OktaAuth`` still refresh only once.
    """

    def __init__(self) -> None:
        self.thread = threading.Lock()
        self.task = anyio.Lock()

    async def acquire_async(self) -> None:
        """Take both locks (cancellation-safe)."""
        await self.task.acquire()
        try:
            while not self.thread.acquire(blocking=False):
                await anyio.sleep(0.002)
        except BaseException:
            self.task.release()
            raise

    def release_async(self) -> None:
        """Release both locks."""
        self.thread.release()
        self.task.release()


def _release_all(held: list[BlockingLock]) -> None:
    while held:
        held.pop().release()


def drive_sync(
    flow: Flow[T],
    user_request: httpx.Request | None,
    out: list[T],
    *,
    locks: Locks,
    sleep: Callable[[float], object],
    send: Callable[[httpx.Request], httpx.Response],
) -> Generator[httpx.Request, httpx.Response, None]:
    """Run ``flow``; yield only ``user_request`` (to httpx); append the result to ``out``."""
    reply: httpx.Response | None = None
    error: TransientError | None = None
    held = False
    holding: list[BlockingLock] = []
    try:
        while True:
            try:
                step = flow.throw(error) if error else flow.send(reply)
            except StopIteration as stop:
                out.append(stop.value)
                return
            reply, error = None, None
            if step is LOCK:
                held = locks.thread.acquire()
            elif step is UNLOCK:
                locks.thread.release()
                held = False
            elif isinstance(step, Sleep):
                sleep(step.seconds)
            elif isinstance(step, Call):
                step.run()
            elif isinstance(step, Hold):
                step.run_acquire()
                if step.acquired:
                    holding.append(step.lock)
            elif isinstance(step, Release):
                holding.remove(step.lock)
                step.lock.release()
            elif step is user_request:
                reply = yield step
            else:
                try:
                    reply = send(step)  # type: ignore[arg-type]
                except httpx.TransportError as exc:
                    error = network_error(exc)
    finally:
        _release_all(holding)
        if held:
            locks.thread.release()
        flow.close()


async def drive_async(
    flow: Flow[T],
    user_request: httpx.Request | None,
    out: list[T],
    *,
    locks: Locks,
    sleep: Callable[[float], Awaitable[object]],
    send: Callable[[httpx.Request], Awaitable[httpx.Response]],
) -> AsyncGenerator[httpx.Request, httpx.Response]:
    """The async twin of :func:`drive_sync`; blocking calls and file locks run in a thread."""
    reply: httpx.Response | None = None
    error: TransientError | None = None
    held = False
    holding: list[BlockingLock] = []
    try:
        while True:
            try:
                step = flow.throw(error) if error else flow.send(reply)
            except StopIteration as stop:
                out.append(stop.value)
                return
            reply, error = None, None
            if step is LOCK:
                await locks.acquire_async()
                held = True
            elif step is UNLOCK:
                locks.release_async()
                held = False
            elif isinstance(step, Sleep):
                await sleep(step.seconds)
            elif isinstance(step, Call):
                await anyio.to_thread.run_sync(step.run)
            elif isinstance(step, Hold):
                await _hold_async(step, holding)
            elif isinstance(step, Release):
                holding.remove(step.lock)
                step.lock.release()
            elif step is user_request:
                reply = yield step
            else:
                try:
                    reply = await send(step)  # type: ignore[arg-type]
                except httpx.TransportError as exc:
                    error = network_error(exc)
    finally:
        _release_all(holding)
        if held:
            locks.release_async()
        flow.close()


async def _hold_async(step: Hold, holding: list[BlockingLock]) -> None:
    # The worker thread cannot be abandoned half-way: a cancelled task still learns whether
    # the lock was taken, so the driver's ``finally`` releases it.
    try:
        await anyio.to_thread.run_sync(step.run_acquire)
    finally:
        if step.acquired:
            holding.append(step.lock)
