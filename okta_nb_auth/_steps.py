"""What :class:`~okta_nb_auth.OktaAuth`'s flow yields, and the two drivers that carry it out.

A flow yields :class:`httpx.Request` s and three instructions: ``LOCK`` / ``UNLOCK`` around a
refresh and ``Sleep`` between retries. The drivers hold no logic of their own: they take the
lock, sleep, send the flow's own requests with a bound client (throwing a network failure
back into the flow as :class:`TransientError`) and hand the caller's request to httpx.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

import anyio
import httpx

from ._exceptions import TransientError

__all__ = [
    "LOCK",
    "UNLOCK",
    "Flow",
    "Locks",
    "Sleep",
    "drive_async",
    "drive_sync",
    "network_error",
]

T = TypeVar("T")


def network_error(exc: httpx.TransportError) -> TransientError:
    """The error tree's view of a network failure (connection refused, timeout, reset)."""
    err = TransientError(
        f"Network error talking to {exc.request.url.host}: {type(exc).__name__}. Retry later."
    )
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


LOCK, UNLOCK = _Instruction("lock"), _Instruction("unlock")
Step = httpx.Request | _Instruction | Sleep
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
            elif step is user_request:
                reply = yield step
            else:
                try:
                    reply = send(step)  # type: ignore[arg-type]
                except httpx.TransportError as exc:
                    error = network_error(exc)
    finally:
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
    """The async twin of :func:`drive_sync`."""
    reply: httpx.Response | None = None
    error: TransientError | None = None
    held = False
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
            elif step is user_request:
                reply = yield step
            else:
                try:
                    reply = await send(step)  # type: ignore[arg-type]
                except httpx.TransportError as exc:
                    error = network_error(exc)
    finally:
        if held:
            locks.release_async()
        flow.close()
