"""``CoalescingTransport``: what uvicorn writes in one event-loop turn goes out in one write."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from okta_nb_auth.devserver._coalesce import CoalescingTransport, coalescing


class FakeTransport(asyncio.Transport):
    """Records writes and closes, as a socket transport would see them."""

    def __init__(self) -> None:
        super().__init__(extra={"peername": ("127.0.0.1", 5)})
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def get_write_buffer_size(self) -> int:
        return 0


async def _turn() -> None:
    await asyncio.sleep(0)  # lets call_soon callbacks of this turn run


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_writes_of_one_turn_go_out_as_one() -> None:
    real = FakeTransport()
    transport = CoalescingTransport(real)
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(memoryview(b"{}"))
    assert real.writes == []
    assert transport.get_write_buffer_size() == 21
    await _turn()
    assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
    transport.write(b"next")
    await _turn()
    assert real.writes[1:] == [b"next"]


@pytest.mark.anyio
async def test_close_sends_what_is_pending_first() -> None:
    real = FakeTransport()
    transport = CoalescingTransport(real)
    transport.write(b"head")
    transport.close()
    assert real.writes == [b"head"] and real.closed
    await _turn()  # the scheduled flush finds nothing left
    assert real.writes == [b"head"]


@pytest.mark.anyio
async def test_abort_and_closing_drop_what_is_pending() -> None:
    real = FakeTransport()
    transport = CoalescingTransport(real)
    transport.write(b"lost")
    transport.abort()
    await _turn()
    assert real.writes == [] and real.aborted and transport.is_closing()
    closing = FakeTransport()
    closing.closed = True
    late = CoalescingTransport(closing)
    late.write(b"too late")
    await _turn()
    assert closing.writes == []


@pytest.mark.anyio
async def test_extra_info_is_the_real_transports() -> None:
    transport = CoalescingTransport(FakeTransport())
    assert transport.get_extra_info("peername") == ("127.0.0.1", 5)
    assert transport.get_extra_info("sslcontext") is None


@pytest.mark.anyio
async def test_protocol_gets_a_coalescing_transport() -> None:
    class Seen(asyncio.Protocol):
        transport: asyncio.BaseTransport | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

    protocol = coalescing(Seen)()
    protocol.connection_made(FakeTransport())
    assert isinstance(protocol, Seen)
    assert isinstance(protocol.transport, CoalescingTransport)
    assert type(protocol).__name__ == "CoalescingSeen"
