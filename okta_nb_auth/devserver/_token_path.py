"""``POST .../v1/token`` without the router: the hot path of every grant.

Starlette's stack (two middlewares, exception wrappers, a walk over some 70 routes) costs about
as much per token request as the token's own work; the token endpoint is matched here by one
regular expression and handed straight to its handler, with the app's error handling (a 500
with the dev server's JSON body, the exception re-raised for uvicorn's log). Every other request
goes to the app.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._http import server_error

__all__ = ["TOKEN_PATH", "TokenPath"]

#: The org server's ``/oauth2/v1/token`` and a custom server's ``/oauth2/{server_id}/v1/token``,
#: as the app's two routes match them (a server id is one path segment).
TOKEN_PATH = re.compile(r"/oauth2(?:/(?P<server_id>[^/]+))?/v1/token")

Handler = Callable[[Request], Awaitable[Response]]


class TokenPath:
    """ASGI middleware: token requests to ``token``, everything else to ``app``."""

    def __init__(self, app: ASGIApp, token: Handler) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] == "POST":
            match = TOKEN_PATH.fullmatch(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        server_id = match["server_id"]
        scope["path_params"] = {} if server_id is None else {"server_id": server_id}
        await self._answer(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        request = Request(scope, receive, send)
        try:
            response = await self.token(request)
            await response(scope, receive, sending)
        except Exception as exc:  # as Starlette's ServerErrorMiddleware: answer, then re-raise
            if not started:
                await (await server_error(request, exc))(scope, receive, send)
            raise
