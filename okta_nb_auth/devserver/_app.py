"""The ASGI application: all routes, a Date header from the virtual clock, no stack traces."""

from __future__ import annotations

import logging
from email.utils import formatdate

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._admin_guard import AdminGuard, admin_addresses
from ._admin_routes import AdminRoutes, DemoApi
from ._authority import Authority
from ._browser_routes import BrowserRoutes
from ._controls import Controls
from ._http import DroppedConnection, server_error
from ._metadata_routes import MetadataRoutes
from ._oauth_routes import OAuthRoutes
from ._state import Clock
from ._token_path import TokenPath

__all__ = ["build_app", "quiet_dropped_connections"]


class _DateHeader:
    """Stamp every response with ``Date`` from the server's (possibly shifted) clock.

    Clients use it to correct for clock skew, so a shifted clock must show in it.
    """

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app = app
        self.clock = clock
        self._cached = (-1, b"")  # (whole second, its HTTP date): formatted once a second

    def date(self) -> bytes:
        second = int(self.clock())
        cached, date = self._cached
        if second != cached:
            date = formatdate(second, usegmt=True).encode()
            self._cached = (second, date)
        return date

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message["headers"] = [*headers, (b"date", self.date())]
            await send(message)

        await self.app(scope, receive, stamped)


def build_app(
    authority: Authority, controls: Controls, *, port: int | None = None, tls: bool = False
) -> ASGIApp:
    """Every route, behind :class:`AdminGuard`: ``/admin`` accepts the Host of
    ``authority.base_url`` and, given the bound ``port``, the loopback names with that port
    (and their https origins when the server serves ``tls``)."""
    settings = authority.settings
    oauth = OAuthRoutes(authority, settings.max_body_bytes, settings.rate_limit_per_minute)
    routes = [
        *MetadataRoutes(authority).routes(),
        *oauth.routes(),
        *BrowserRoutes(authority, settings.max_body_bytes).routes(),
        *AdminRoutes(controls).routes(),
        *DemoApi(authority).routes(),
    ]
    app = Starlette(routes=routes, exception_handlers={500: server_error})
    guarded = AdminGuard(
        TokenPath(app, oauth.token), admin_addresses(authority.base_url, port, tls)
    )
    return _DateHeader(guarded, authority.store.clock)


class _DropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def quiet_dropped_connections() -> None:
    """Keep uvicorn from logging the on-purpose connection drops of fault injection."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropFilter) for f in logger.filters):
        logger.addFilter(_DropFilter())
