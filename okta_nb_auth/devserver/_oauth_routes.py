"""Machine-facing routes: token, userinfo, introspect, revoke, device authorize, PAR.

Each exists for the org server (``/oauth2/v1/...``) and for custom servers
(``/oauth2/{server_id}/v1/...``), as on Okta.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._authority import Authority, BearerFailure
from ._clients import Endpoint, authenticate_client
from ._grants import TokenEndpoint
from ._http import DropResponse, not_found, oauth_error, oauth_json, read_form
from ._par import PushedRequests, created
from ._settings import AppSettings
from ._state import Event, Fault, OAuthFailure
from ._tokens import AuthServer, profile_claims

__all__ = ["OAuthRoutes"]

SERVER_ERROR = (
    "The authorization server encountered an unexpected condition that prevented it from "
    "fulfilling the request."
)
USERINFO_SCOPES = ("profile", "email", "address", "phone")
#: Each authenticated endpoint's path under the server's ``/v1``: a client assertion's audience.
PATHS = {
    "token": "/token",
    "device_authorize": "/device/authorize",
    "par": "/par",
    "introspect": "/introspect",
    "revoke": "/revoke",
}


async def _delay(seconds: float, request: Request) -> None:
    """Wait ``seconds``, or less when the client hangs up meanwhile (a killed process).

    The body has been read, so the next ASGI message is the disconnect: waiting for it sees
    a client leave at once (polling would see it up to one poll interval late).
    """
    with anyio.move_on_after(seconds):
        while (await request.receive())["type"] != "http.disconnect":
            pass


class OAuthRoutes:
    """The OAuth/OIDC endpoints over one :class:`Authority`."""

    def __init__(self, authority: Authority, max_body: int, rate_limit: int) -> None:
        self.authority = authority
        self.store = authority.store
        self.tokens = TokenEndpoint(authority)
        self.pushed = PushedRequests(authority)
        self.max_body = max_body
        self.rate_limit = rate_limit

    def routes(self) -> list[Route]:
        routes: list[Route] = []
        for prefix in ("/oauth2/{server_id}", "/oauth2"):
            routes += [
                Route(f"{prefix}/v1/token", self.token, methods=["POST"]),
                Route(f"{prefix}/v1/device/authorize", self.device_authorize, methods=["POST"]),
                Route(f"{prefix}/v1/par", self.par, methods=["POST"]),
                Route(f"{prefix}/v1/userinfo", self.userinfo, methods=["GET", "POST"]),
                Route(f"{prefix}/v1/introspect", self.introspect, methods=["POST"]),
                Route(f"{prefix}/v1/revoke", self.revoke, methods=["POST"]),
            ]
        return routes

    def _server(self, request: Request) -> AuthServer | None:
        return self.authority.server(request.path_params.get("server_id", "org"))

    # -- token endpoint: faults, rate limit, events ----------------------------------------

    async def token(self, request: Request) -> Response:
        return await self._oauth_call(request, "token")

    async def device_authorize(self, request: Request) -> Response:
        return await self._oauth_call(request, "device_authorize")

    async def par(self, request: Request) -> Response:
        return await self._oauth_call(request, "par")

    async def introspect(self, request: Request) -> Response:
        return await self._oauth_call(request, "introspect")

    async def revoke(self, request: Request) -> Response:
        return await self._oauth_call(request, "revoke")

    async def _oauth_call(self, request: Request, endpoint: str) -> Response:
        server = self._server(request)
        if server is None:
            return not_found(request.path_params["server_id"])
        ctx: dict[str, Any] = {}
        try:
            form: dict[str, str] | OAuthFailure = await read_form(request, self.max_body)
        except OAuthFailure as failure:
            form = failure
        if (
            endpoint == "introspect"
            and isinstance(form, dict)
            and "client_id" not in form
            and "authorization" not in request.headers
        ):
            # Spec §2.7: a public client may send client_id as a query parameter here.
            query_id = request.query_params.get("client_id")
            if query_id is not None:
                form["client_id"] = query_id
        if isinstance(form, dict):  # for the event log, even when a fault answers
            ctx.update(grant_type=form.get("grant_type"), client_id=form.get("client_id"))
        if endpoint == "token" and (faulted := await self._faulted(request, ctx)) is not None:
            return faulted
        limit, remaining, reset = self.store.rate_limit(self.rate_limit)
        headers = {
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(max(remaining, 0)),
            "X-Rate-Limit-Reset": str(reset),
        }
        if remaining < 0:
            self._record(endpoint, ctx, 429, "rate_limited")
            return _rate_limited(headers)
        try:
            if isinstance(form, OAuthFailure):
                raise form
            app = authenticate_client(
                self.authority.app_by_client_id,
                form,
                request.headers.get("authorization"),
                _q(request),
                endpoint=self._endpoint(server, endpoint),
                strict=self.authority.settings.strict_auth_method,
                ctx=ctx,
            )
            ctx.update(app=app.name, client_id=app.client_id)
            response = self._dispatch(endpoint, server, app, form, ctx, headers)
        except OAuthFailure as failure:
            if failure.detail is not None:
                ctx.setdefault("detail", failure.detail)
            self._record(endpoint, ctx, failure.status, failure.error)
            return oauth_error(failure, headers)
        self._record(endpoint, ctx, response.status_code, None)
        return response

    def _endpoint(self, server: AuthServer, endpoint: str) -> Endpoint:
        """The URL a client assertion must name here (as discovery gives it), the wall clock."""
        url = server.endpoint_base + PATHS[endpoint]
        return Endpoint(url, self.authority.spent, time.time())

    async def _faulted(self, request: Request, ctx: dict[str, Any]) -> Response | None:
        fault = self.store.take_fault()
        if fault is None:
            return None
        faulted = await self._fault(fault, request)
        if fault.latency and faulted is None and await request.is_disconnected():
            # Latency is time on the way in: a client that gave up (or died) meanwhile never
            # reached the server, so nothing is issued or rotated.
            self._record("token", ctx, 0, "fault_client_gone")
            return Response(status_code=499)
        if faulted is not None:
            status = 0 if fault.drop else faulted.status_code
            self._record("token", ctx, status, f"fault_{fault.status or 'drop'}")
        return faulted

    def _dispatch(
        self,
        endpoint: str,
        server: AuthServer,
        app: AppSettings,
        form: dict[str, str],
        ctx: dict[str, Any],
        headers: dict[str, str],
    ) -> Response:
        if endpoint == "token":
            return oauth_json(self.tokens.token(server, app, form, ctx), headers)
        if endpoint == "device_authorize":
            return oauth_json(self.tokens.device_authorize(server, app, form), headers)
        if endpoint == "par":
            return created(self.pushed.push(server, app, form), headers)
        token = form.get("token")
        if not token:
            raise OAuthFailure(400, "invalid_request", "The required parameter 'token' is missing.")
        if endpoint == "introspect":
            return oauth_json(self.authority.introspect(server, app, token), headers)
        self.authority.revoke(server, app, token)
        return Response(status_code=200, headers=headers)

    async def _fault(self, fault: Fault, request: Request) -> Response | None:
        if fault.latency:
            await _delay(fault.latency, request)
        if fault.drop:
            return DropResponse()
        if fault.status is None:
            return None
        if fault.status == 429:
            reset = int(self.store.clock()) + 60
            headers = {"X-Rate-Limit-Limit": "0", "X-Rate-Limit-Remaining": "0"}
            return _rate_limited({**headers, "X-Rate-Limit-Reset": str(reset)})
        if fault.html:
            page = f"<html><body><h1>{fault.status} Service Unavailable</h1></body></html>"
            return Response(page, status_code=fault.status, media_type="text/html")
        return oauth_error(OAuthFailure(fault.status, "server_error", SERVER_ERROR))

    def _record(self, endpoint: str, ctx: dict[str, Any], status: int, error: str | None) -> None:
        def text(name: str) -> str | None:
            value = ctx.get(name)
            return None if value is None else str(value)

        expires = ctx.get("expires_at")
        self.store.record(
            Event(
                at=self.store.clock(),
                endpoint=endpoint,
                grant_type=text("grant_type"),
                client_id=text("client_id"),
                app=text("app"),
                status=status,
                error=error,
                user=text("user"),
                detail=text("detail"),
                expires_at=float(expires) if isinstance(expires, (int, float)) else None,
                auth_method=text("auth_method"),
                auth_mismatch=text("auth_mismatch"),
            )
        )

    # -- userinfo --------------------------------------------------------------------------

    async def userinfo(self, request: Request) -> Response:
        server = self._server(request)
        if server is None:
            return not_found(request.path_params["server_id"])
        try:
            record, _ = self.authority.access_record(server, bearer(request))
            if record.user is None or not set(USERINFO_SCOPES) & set(record.scopes):
                raise BearerFailure(
                    403,
                    "insufficient_scope",
                    "The access token must provide access to at least one of these scopes - "
                    "profile, email, address or phone",
                )
        except BearerFailure as failure:
            if failure.status == 401 and failure.error:
                failure.description = "The access token is invalid"
            return bearer_error(failure, None)
        user = self.authority.settings.user(record.user)
        return JSONResponse({"sub": user.user_id, **profile_claims(user, record.scopes, True)})


def _q(request: Request) -> dict[str, str]:
    # Most token calls have no query string: skip building an empty QueryParams.
    return dict(request.query_params) if request.scope.get("query_string") else {}


def _rate_limited(headers: dict[str, str]) -> Response:
    body = {
        "errorCode": "E0000047",
        "errorSummary": "API call exceeded rate limit due to too many requests.",
        "errorLink": "E0000047",
        "errorId": "oae" + "0" * 19,
        "errorCauses": [],
    }
    return JSONResponse(body, status_code=429, headers=headers)


def bearer(request: Request) -> str:
    """The bearer token of a resource request, or a 401 without an error code (RFC 6750 §3.1)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BearerFailure(401, None, None)
    return token.strip()


def bearer_error(failure: BearerFailure, realm: str | None, scope: str | None = None) -> Response:
    """A 401/403 with ``WWW-Authenticate: Bearer ...`` as a resource server sends it."""
    parts = [f'realm="{realm}"'] if realm else []
    if failure.error:
        parts.append(f'error="{failure.error}"')
        parts.append(f'error_description="{failure.description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    header = "Bearer " + ", ".join(parts) if parts else "Bearer"
    return Response(status_code=failure.status, headers={"WWW-Authenticate": header})
