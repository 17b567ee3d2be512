"""Run a request-yielding generator ("flow") with a sync or an async httpx client.

The flows in this package yield :class:`httpx.Request` objects and receive responses; a
network failure is thrown back into the flow as :class:`TransientError`, so the flow decides
whether it can carry on (for example with a last good key set).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TypeVar

import httpx

from ._exceptions import TransientError

__all__ = ["network_error", "run_async", "run_sync"]

T = TypeVar("T")


def network_error(exc: httpx.TransportError) -> TransientError:
    """The error tree's view of a network failure (connection refused, timeout, reset)."""
    err = TransientError(
        f"Network error talking to {exc.request.url.host}: {type(exc).__name__}. Retry later."
    )
    err.__cause__ = exc
    return err


def run_sync(flow: Generator[httpx.Request, httpx.Response, T], client: httpx.Client) -> T:
    """Drive ``flow`` to completion, sending its requests with ``client``."""
    reply: httpx.Response | None = None
    error: TransientError | None = None
    while True:
        try:
            request = flow.throw(error) if error else flow.send(reply)  # type: ignore[arg-type]
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        reply, error = None, None
        try:
            reply = client.send(request, auth=None)
        except httpx.TransportError as exc:
            error = network_error(exc)


async def run_async(
    flow: Generator[httpx.Request, httpx.Response, T], client: httpx.AsyncClient
) -> T:
    """The async twin of :func:`run_sync`: the same flow, sent with an ``AsyncClient``."""
    reply: httpx.Response | None = None
    error: TransientError | None = None
    while True:
        try:
            request = flow.throw(error) if error else flow.send(reply)  # type: ignore[arg-type]
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        reply, error = None, None
        try:
            reply = await client.send(request, auth=None)
        except httpx.TransportError as exc:
            error = network_error(exc)
