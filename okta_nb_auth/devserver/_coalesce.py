"""One write per response: uvicorn's protocols with a transport that gathers what they write.

uvicorn writes a response's head and its body with two ``transport.write`` calls, and each is a
system call at once (uvloop and asyncio both try to send immediately). On loopback a send also
runs the receiver's TCP stack and wakes it, so the second call costs the server about as much
as the first, and the client reads twice. :class:`CoalescingTransport` keeps what is written
during one turn of the event loop and sends it in one call at the end of that turn.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

__all__ = ["CoalescingTransport", "coalescing"]


class CoalescingTransport(asyncio.Transport):
    """A transport that sends writes made in one event-loop turn as one write."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._pending: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def flush(self) -> None:
        """Send what is pending now (nothing once the connection is closing)."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))


def coalescing(protocol: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """A subclass of uvicorn's HTTP ``protocol`` class whose transport is coalescing."""

    class Coalescing(protocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            # uvloop's transports do not derive from asyncio.Transport: no isinstance check.
            super().connection_made(CoalescingTransport(cast(asyncio.Transport, transport)))

    Coalescing.__name__ = Coalescing.__qualname__ = f"Coalescing{protocol.__name__}"
    return Coalescing
