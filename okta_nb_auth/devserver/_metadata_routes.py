"""Public, cacheable routes: the discovery documents and the key sets (spec §1.1, §1.2, §2.5).

Neither is rate-limited, as on Okta; both carry Okta's cache headers, and each fetch is in the
event log (``discovery``, ``keys``) so a test can count how often a client fetches them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from email.utils import formatdate

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._authority import Authority
from ._http import not_found
from ._metadata import metadata
from ._state import Event
from ._tokens import AuthServer

__all__ = ["DEV_SERVER_HEADER", "DISCOVERY_CACHE", "JWKS_MAX_AGE", "MetadataRoutes"]

#: Sent with discovery documents, so a tutorial pointed at a shared dev server (a classroom's)
#: can call it a dev server rather than an Okta org; Okta sends no such header.
DEV_SERVER_HEADER = {"X-Okta-NB-Auth-Dev-Server": "1"}
DISCOVERY_CACHE = "max-age=86400, must-revalidate"  # TRACE: one day
JWKS_MAX_AGE = 3_888_000  # TRACE: about 45 days, with must-revalidate and Expires

_DOCUMENTS = (("openid-configuration", False), ("oauth-authorization-server", True))


class MetadataRoutes:
    """``/.well-known/...`` of every authorization server, and its ``/v1/keys``."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority
        self.store = authority.store

    def routes(self) -> list[Route]:
        routes: list[Route] = []
        for name, oauth in _DOCUMENTS:
            handler = self._discovery(oauth)
            routes.append(Route(f"/.well-known/{name}", handler, methods=["GET"]))
            routes.append(
                Route(f"/oauth2/{{server_id}}/.well-known/{name}", handler, methods=["GET"])
            )
        rfc8414 = "/.well-known/oauth-authorization-server/oauth2/{server_id}"
        routes.append(Route(rfc8414, self._discovery(True), methods=["GET"]))
        for prefix in ("/oauth2/{server_id}", "/oauth2"):
            routes.append(Route(f"{prefix}/v1/keys", self.keys, methods=["GET"]))
        return routes

    def _server(self, request: Request) -> AuthServer | None:
        return self.authority.server(request.path_params.get("server_id", "org"))

    def _discovery(self, oauth: bool) -> Callable[[Request], Awaitable[Response]]:
        async def discovery(request: Request) -> Response:
            server = self._server(request)
            if server is None:
                return self._answer("discovery", not_found(request.path_params["server_id"]))
            doc = metadata(server, oauth)
            headers = {"Cache-Control": DISCOVERY_CACHE, **DEV_SERVER_HEADER}
            return self._answer("discovery", JSONResponse(doc, headers=headers))

        return discovery

    async def keys(self, request: Request) -> Response:
        server = self._server(request)
        if server is None:
            return self._answer("keys", not_found(request.path_params["server_id"]))
        expires = formatdate(self.store.clock() + JWKS_MAX_AGE, usegmt=True)
        headers = {"Cache-Control": f"max-age={JWKS_MAX_AGE}, must-revalidate", "Expires": expires}
        return self._answer("keys", JSONResponse(server.keys.jwks(), headers=headers))

    def _answer(self, endpoint: str, response: Response) -> Response:
        error = None if response.status_code == 200 else "not_found"
        event = Event(
            at=self.store.clock(),
            endpoint=endpoint,
            grant_type=None,
            client_id=None,
            app=None,
            status=response.status_code,
            error=error,
        )
        self.store.record(event)
        return response
