"""FlowAuth: an :class:`httpx.Auth` whose behaviour is one request-yielding flow.

Subclasses write :meth:`FlowAuth._flow`; this base class runs it for :class:`httpx.Client`
(``sync_auth_flow``) and :class:`httpx.AsyncClient` (``async_auth_flow``) and for calls made
outside a request (:meth:`run`, :meth:`arun`). The flow's own requests go out through the
bound client (see :meth:`bind`); the caller's request goes back to httpx, so API responses
still stream and token responses never enter ``response.history``.

A fast path comes first: :meth:`FlowAuth._signed` signs a request that needs nothing else (a
valid token, no refresh due) with no lock and no driver, and :meth:`FlowAuth._after` says
whether its answer needs the rest of the flow (a 401). That keeps a request's cost within a
few per cent of plain httpx (``bench/bench_client.py``); everything else runs the one flow.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any, TypeVar

import anyio
import httpx

from ._steps import Flow, Locks, drive_async, drive_sync
from ._trust import asend_own, send_own

__all__ = ["FlowAuth"]

T = TypeVar("T")


class FlowAuth(httpx.Auth):
    """Runs ``self._flow(request)`` with a thread lock (sync) or an anyio lock (async)."""

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        *,
        sleep: Callable[[float], object] = time.sleep,
        async_sleep: Callable[[float], Awaitable[object]] = anyio.sleep,
    ) -> None:
        self._sleep, self._async_sleep = sleep, async_sleep
        self._locks = Locks()
        # Bound sessions, held weakly (a holder lives as long as a session uses it); the
        # newest one still open sends.
        self._bound: list[weakref.ref[httpx.Client | httpx.AsyncClient]] = []
        self._client: httpx.Client | None = None  # created for itself when nothing is bound
        self._aclient: httpx.AsyncClient | None = None
        self._owned: list[httpx.Client | httpx.AsyncClient] = []

    def _flow(self, request: httpx.Request) -> Flow[None]:
        raise NotImplementedError

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """httpx's generic hook: the sync driver (httpx itself calls the two entry points
        below; this keeps a hand-written driver from sending unauthenticated requests)."""
        yield from self.sync_auth_flow(request)

    def bind(self, client: httpx.Client | httpx.AsyncClient) -> None:
        """Send token, discovery and JWKS requests with ``client`` (the session binds itself,
        so ``transport=``, proxies and TLS settings apply to token calls too). Several
        sessions may share one holder: the newest one still open sends."""
        self._bound = [ref for ref in self._bound if ref() is not None] + [weakref.ref(client)]

    def _bound_client(self, kind: type[httpx.Client] | type[httpx.AsyncClient]) -> object:
        for ref in reversed(self._bound):
            client = ref()
            if isinstance(client, kind) and not client.is_closed:
                return client
        return None

    def _send(self, request: httpx.Request) -> httpx.Response:
        client = self._bound_client(httpx.Client)
        if not isinstance(client, httpx.Client):
            if self._client is None:
                self._client = httpx.Client()
                self._owned.append(self._client)
            client = self._client
        return send_own(client, request)

    async def _asend(self, request: httpx.Request) -> httpx.Response:
        client = self._bound_client(httpx.AsyncClient)
        if not isinstance(client, httpx.AsyncClient):
            if self._aclient is None:
                self._aclient = httpx.AsyncClient()
                self._owned.append(self._aclient)
            client = self._aclient
        return await asend_own(client, request)

    def _sync(
        self, flow: Flow[T], request: httpx.Request | None, out: list[T]
    ) -> Generator[httpx.Request, httpx.Response, None]:
        return drive_sync(flow, request, out, locks=self._locks, sleep=self._sleep, send=self._send)

    def _async(
        self, flow: Flow[T], request: httpx.Request | None, out: list[T]
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        return drive_async(
            flow, request, out, locks=self._locks, sleep=self._async_sleep, send=self._asend
        )

    def _signed(self, request: httpx.Request) -> Any:
        """The fast path: sign ``request`` when nothing else is needed first (no lock, no
        token call) and return what :meth:`_after` needs; None runs the whole flow."""
        return None

    def _after(
        self, request: httpx.Request, response: httpx.Response, signed: Any
    ) -> Flow[None] | None:
        """After a fast-path answer: the rest of the flow, or None when there is nothing to do."""
        return None

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """httpx's sync entry point: the one flow, with a thread lock (the fast path first)."""
        signed = self._signed(request)
        if signed is None:
            yield from self._sync(self._flow(request), request, [])
            return
        rest = self._after(request, (yield request), signed)
        if rest is not None:
            yield from self._sync(rest, request, [])

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """httpx's async entry point: the one flow, with an anyio lock (plus the thread lock);
        the fast path first, which takes no lock."""
        signed = self._signed(request)
        if signed is None:
            flow = self._flow(request)
        else:
            rest = self._after(request, (yield request), signed)
            if rest is None:
                return
            flow = rest
        driver = self._async(flow, request, [])
        try:
            step = await driver.__anext__()
            while True:
                response = yield step
                step = await driver.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await driver.aclose()

    def run(self, flow: Flow[T]) -> T:
        """Run a flow that sends no caller request (refresh, logout) synchronously."""
        out: list[T] = []
        for _ in self._sync(flow, None, out):
            raise AssertionError("this flow has no caller request")  # pragma: no cover
        return out[0]

    async def arun(self, flow: Flow[T]) -> T:
        """The async twin of :meth:`run`."""
        out: list[T] = []
        async for _ in self._async(flow, None, out):
            raise AssertionError("this flow has no caller request")  # pragma: no cover
        return out[0]

    def close(self) -> None:
        """Close the sync client this object created for itself, if any."""
        for client in self._owned:
            if isinstance(client, httpx.Client):
                client.close()

    async def aclose(self) -> None:
        """Close the clients this object created for itself, if any."""
        for client in self._owned:
            if isinstance(client, httpx.AsyncClient):
                await client.aclose()
            else:
                client.close()
