"""Run a request-yielding generator ("flow") with a sync or an async httpx client.

The flows in this package yield :class:`httpx.Request` objects and receive responses; a
network failure is thrown back into the flow as :class:`TransientError`, so the flow decides
whether it can carry on (for example with a last good key set). These are the plain cases of
the drivers in :mod:`okta_nb_auth._steps`: no caller request, no locks, no sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TypeVar

import anyio
import httpx

from ._steps import Locks, drive_async, drive_sync, network_error
from ._trust import asend_own, send_own

__all__ = ["network_error", "run_async", "run_sync"]

T = TypeVar("T")


def run_sync(flow: Generator[httpx.Request, httpx.Response, T], client: httpx.Client) -> T:
    """Drive ``flow`` to completion, sending its requests with ``client``."""
    out: list[T] = []
    steps = drive_sync(
        flow,  # type: ignore[arg-type]
        None,
        out,
        locks=Locks(),
        sleep=time.sleep,
        send=lambda request: send_own(client, request),
    )
    for _ in steps:  # pragma: no cover - there is no caller request to hand out
        raise AssertionError("a plain flow has no caller request")
    return out[0]


async def run_async(
    flow: Generator[httpx.Request, httpx.Response, T], client: httpx.AsyncClient
) -> T:
    """The async twin of :func:`run_sync`: the same flow, sent with an ``AsyncClient``."""

    async def send(request: httpx.Request) -> httpx.Response:
        return await asend_own(client, request)

    out: list[T] = []
    steps = drive_async(flow, None, out, locks=Locks(), sleep=anyio.sleep, send=send)  # type: ignore[arg-type]
    async for _ in steps:  # pragma: no cover - there is no caller request to hand out
        raise AssertionError("a plain flow has no caller request")
    return out[0]
