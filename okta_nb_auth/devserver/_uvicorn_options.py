"""How the dev server runs uvicorn: quiet, no lifespan, and on uvicorn's C parts when installed.

The ``devserver`` extra installs ``httptools`` (uvicorn's C HTTP parser) and, where it builds,
``uvloop`` (a libuv event loop, which also gathers a response's writes into one system call).
Without them uvicorn's pure-Python ``h11`` parser and ``asyncio`` loop serve the same answers,
more slowly.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from importlib import import_module
from importlib.util import find_spec
from typing import Any

import uvicorn

from ._coalesce import coalescing

__all__ = ["UVICORN_OPTIONS", "WakeableServer", "http_protocol", "installed", "uvicorn_options"]

UVICORN_OPTIONS: dict[str, Any] = dict(
    log_level="warning", lifespan="off", date_header=False, server_header=False, access_log=False
)


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    return find_spec(module) is not None


def http_protocol() -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol when installed, else its h11 one; writes coalesced."""
    name, cls = ("httptools_impl", "HttpToolsProtocol")
    if not installed("httptools"):
        name, cls = ("h11_impl", "H11Protocol")
    protocol: type[asyncio.Protocol] = getattr(import_module(f"uvicorn.protocols.http.{name}"), cls)
    return coalescing(protocol)


def uvicorn_options() -> dict[str, Any]:
    """:data:`UVICORN_OPTIONS` with ``http`` and ``loop`` chosen from what is installed."""
    return {
        **UVICORN_OPTIONS,
        "http": http_protocol(),
        "loop": "uvloop" if installed("uvloop") else "asyncio",
    }


class WakeableServer(uvicorn.Server):
    """uvicorn's server, stopping without fixed pauses: :meth:`wake` makes it look at
    ``should_exit`` at once instead of at its next 0.1 s tick, and its shutdown waits for the
    connections to close instead of 0.1 s first (a test run starts and stops hundreds)."""

    _loop: asyncio.AbstractEventLoop | None = None
    _woken: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._woken = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            self._woken.clear()  # a wake-up without should_exit: back to ticking
            counter = (counter + 1) % 864000  # on_tick's own once-a-second work needs the count
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # no new connections
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # closes when idle, else after its response
        while self.server_state.connections or self.server_state.tasks:
            await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()

    def wake(self) -> None:
        """Wake the main loop (from any thread); set ``should_exit`` first to stop."""
        loop, woken = self._loop, self._woken
        if loop is not None and woken is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed already
                loop.call_soon_threadsafe(woken.set)
