"""The ASGI application: all routes, a Date header from the virtual clock, no stack traces."""

from __future__ import annotations

import logging
from email.utils import formatdate

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._admin_guard import AdminGuard, admin_addresses
from ._admin_routes import AdminRoutes, DemoApi
from ._authority import Authority
from ._browser_routes import BrowserRoutes
from ._controls import Controls
from ._http import DroppedConnection
from ._metadata_routes import MetadataRoutes
from ._oauth_routes import OAuthRoutes
from ._state import Clock

__all__ = ["build_app", "quiet_dropped_connections"]


class _DateHeader:
    """Stamp every response with ``Date`` from the server's (possibly shifted) clock.

    Clients use it to correct for clock skew, so a shifted clock must show in it.
    """

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                date = formatdate(self.clock(), usegmt=True).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message["headers"] = [*headers, (b"date", date)]
            await send(message)

        await self.app(scope, receive, stamped)


async def _server_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, DroppedConnection):  # on purpose: the response was already cut short
        return Response(status_code=500)
    logging.getLogger("okta_nb_auth.devserver").error(
        "internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return JSONResponse(
        {"error": "server_error", "error_description": "The dev server hit an internal error."},
        status_code=500,
    )


def build_app(
    authority: Authority, controls: Controls, *, port: int | None = None, tls: bool = False
) -> ASGIApp:
    """Every route, behind :class:`AdminGuard`: ``/admin`` accepts the Host of
    ``authority.base_url`` and, given the bound ``port``, the loopback names with that port
    (and their https origins when the server serves ``tls``)."""
    settings = authority.settings
    routes = [
        *MetadataRoutes(authority).routes(),
        *OAuthRoutes(authority, settings.max_body_bytes, settings.rate_limit_per_minute).routes(),
        *BrowserRoutes(authority, settings.max_body_bytes).routes(),
        *AdminRoutes(controls).routes(),
        *DemoApi(authority).routes(),
    ]
    app = Starlette(routes=routes, exception_handlers={500: _server_error})
    guarded = AdminGuard(app, admin_addresses(authority.base_url, port, tls))
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
