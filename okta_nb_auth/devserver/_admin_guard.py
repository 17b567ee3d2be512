"""Who may call ``/admin``: a loopback client, addressed to this server, never a web page.

Loopback alone is not enough: a page in the user's browser runs on loopback too. So every
``/admin`` request (any method, any path under it) must also

* carry a ``Host`` that names this server (its bound address, a loopback name with its port,
  or its public URL's host), so a DNS-rebinding page (``Host: evil.example:PORT``) reads
  nothing, not even ``GET /admin/apps/web`` with its client secret;
* not come from a page on another origin: no foreign ``Origin``, no ``Sec-Fetch-Site`` of
  ``cross-site`` or ``same-site``;
* when it changes state (POST, PUT, PATCH, DELETE), be ``application/json``, which a page
  cannot send to another origin without a CORS preflight, which this server never grants.

The checks run before routing and before the body is read: a refused request changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ._http import is_loopback

__all__ = ["AdminAddresses", "AdminGuard", "admin_addresses"]

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_PORTS = {"http": 80, "https": 443}
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})

LOOPBACK_ONLY = "The admin API answers loopback clients only."
FROM_A_PAGE = (
    "The admin API does not answer web pages: this request came from another origin "
    "(its Origin or Sec-Fetch-Site header says so)."
)


@dataclass(frozen=True)
class AdminAddresses:
    """The ``Host`` values and browser origins that name this server (lower case)."""

    hosts: frozenset[str]
    origins: frozenset[str]


def _authorities(host: str, port: int, default: int) -> set[str]:
    named = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return {f"{named}:{port}", named} if port == default else {f"{named}:{port}"}


def admin_addresses(base_url: str, port: int | None = None, tls: bool = False) -> AdminAddresses:
    """This server's own addresses: ``base_url``'s host, and loopback names with ``port``
    (served over https when ``tls``, else http, whatever a proxy's public URL says)."""
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower() or "http"
    default = DEFAULT_PORTS.get(scheme, 80)
    own = _authorities(parts.hostname or "", parts.port or default, default)
    found = {(scheme, a) for a in own}
    if port is not None:
        local = "https" if tls else "http"
        for name in LOOPBACK_NAMES:
            found |= {(local, a) for a in _authorities(name, port, DEFAULT_PORTS[local])}
    return AdminAddresses(
        hosts=frozenset(a for _, a in found),
        origins=frozenset(f"{s}://{a}" for s, a in found),
    )


def _refuse(status: int, description: str) -> JSONResponse:
    body = {"error": "invalid_request", "error_description": description}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class AdminGuard:
    """ASGI middleware: refuses an ``/admin`` request that a web page could have made."""

    def __init__(self, app: ASGIApp, addresses: AdminAddresses) -> None:
        self.app = app
        self.addresses = addresses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == "/admin" or path.startswith("/admin/"):
            refusal = self.refusal(Request(scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, request: Request) -> JSONResponse | None:
        """The answer that refuses ``request``, or ``None`` when it may go on."""
        if not is_loopback(request):
            return _refuse(403, LOOPBACK_ONLY)
        if request.headers.get("host", "").strip().lower() not in self.addresses.hosts:
            own = ", ".join(sorted(self.addresses.hosts))
            return _refuse(421, f"The admin API answers only requests addressed to {own}.")
        origin = request.headers.get("origin")
        fetch_site = request.headers.get("sec-fetch-site", "").strip().lower()
        if (
            origin is not None and origin.strip().lower() not in self.addresses.origins
        ) or fetch_site in FOREIGN_FETCH_SITES:
            return _refuse(403, FROM_A_PAGE)
        if request.method in STATE_CHANGING and _media_type(request) != "application/json":
            return _refuse(
                415, "The admin API takes JSON: send the body with Content-Type: application/json."
            )
        return None
