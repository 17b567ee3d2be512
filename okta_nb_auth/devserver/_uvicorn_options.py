"""How the dev server runs uvicorn: quiet, no lifespan, and on uvicorn's C parts when installed.

The ``devserver`` extra installs ``httptools`` (uvicorn's C HTTP parser) and, where it builds,
``uvloop`` (a libuv event loop, which also gathers a response's writes into one system call).
Without them uvicorn's pure-Python ``h11`` parser and ``asyncio`` loop serve the same answers,
more slowly.
"""

from __future__ import annotations

import asyncio
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from ._coalesce import coalescing

__all__ = ["UVICORN_OPTIONS", "http_protocol", "installed", "uvicorn_options"]

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
