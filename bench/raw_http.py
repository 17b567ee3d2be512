"""A lean HTTP/1.1 load generator for ``bench_devserver``: one keep-alive socket per client.

httpx (pure-Python h11 and its pool) costs 500-700 µs of CPU per request, more than the dev
server's whole token request (~470 µs), on the same two cores: a benchmark driven by it measures
the client as much as the server. This client sends a request prepared once as bytes (the
headers httpx sends, so the server parses as much as for httpx) and reads the answer by its
``Content-Length``: tens of µs per request, as a load generator such as ``wrk`` would cost.

It only speaks to the dev server over loopback, answers with ``Content-Length`` (never chunked)
and one request at a time per connection; anything else is an error, counted as a failure.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx

__all__ = ["Connection", "HttpError", "post_request"]

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024


class HttpError(Exception):
    """The answer was not a well-formed HTTP/1.1 response with a ``Content-Length``."""


def post_request(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    """The bytes of ``POST url`` with ``body`` and ``headers``: what an ``httpx.Client`` sends
    (its default headers, in its order)."""
    with httpx.Client() as client:
        request = client.build_request("POST", url, content=body, headers=headers)
    lines = [b"POST " + request.url.raw_path + b" HTTP/1.1"]
    lines += [name + b": " + value for name, value in request.headers.raw]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class Connection:
    """One keep-alive connection to ``url``'s host; :meth:`exchange` is one request."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError("an http://host:port URL is needed")
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send ``request``; return the response's status and body."""
        self.sock.sendall(request)
        head = self._head()
        status, length = _status(head), _length(head)
        while len(self._buffer) < length:
            self._buffer += self._recv()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return status, body

    def _head(self) -> bytes:
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if len(self._buffer) > MAX_HEAD:
                raise HttpError("response head too large")
            self._buffer += self._recv()
        head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
        return head

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise HttpError("connection closed by the server")
        return data

    def close(self) -> None:
        self.sock.close()


def _status(head: bytes) -> int:
    if not head.startswith(b"HTTP/1.1 ") or not head[9:12].isdigit():
        raise HttpError("not an HTTP/1.1 status line")
    return int(head[9:12])


def _length(head: bytes) -> int:
    start = head.lower().find(b"\r\ncontent-length:")
    if start < 0:
        raise HttpError("no Content-Length")
    end = head.find(b"\r\n", start + 2)
    value = head[start + 17 : end if end >= 0 else len(head)].strip()
    if not value.isdigit() or int(value) > MAX_BODY:
        raise HttpError("Content-Length out of range")
    return int(value)
