"""``/admin`` over :class:`Controls`, and the protected demo API under ``/api``.

Who may reach ``/admin`` at all (loopback, this server's Host, no web page, JSON only) is
decided before routing, by :class:`~._admin_guard.AdminGuard`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._authority import Authority, BearerFailure
from ._controls import Controls
from ._oauth_routes import bearer, bearer_error
from ._settings import SettingsError
from ._state import OAuthFailure

__all__ = ["AdminRoutes", "DemoApi"]

Handler = Callable[[Request], Awaitable[Response]]


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_request", "error_description": message}, status_code=status
    )


MAX_ADMIN_BODY = 64 * 1024
MAX_JSON_DEPTH = 32  # admin bodies are flat; json.loads hits Python's recursion limit near 1000


def _check_depth(raw: bytes) -> None:
    """Refuse JSON nested deeper than :data:`MAX_JSON_DEPTH` before parsing it."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            in_string = escaped or byte != 0x22  # a '"' not after a backslash ends it
            escaped = not escaped and byte == 0x5C
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
        elif byte in b"]}":
            depth -= 1


async def _json(request: Request) -> dict[str, Any]:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_ADMIN_BODY:
            raise ValueError(f"the body is larger than {MAX_ADMIN_BODY} bytes")
    if not raw:
        return {}
    _check_depth(bytes(raw))
    try:
        data = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
        raise ValueError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


class AdminRoutes:
    """``/admin/...``: the same controls as :class:`DevServer`'s methods, as JSON over HTTP."""

    def __init__(self, controls: Controls) -> None:
        self.controls = controls

    def routes(self) -> list[Route]:
        c = self.controls
        table: list[tuple[str, str, Callable[[Request, dict[str, Any]], Any]]] = [
            (
                "GET",
                "/admin/events",
                lambda r, b: c.events_json(int(r.query_params.get("since", 0))),
            ),
            ("GET", "/admin/events/count", lambda r, b: c.events_count()),
            ("POST", "/admin/events/clear", lambda r, b: c.clear_events()),
            ("POST", "/admin/login_as", lambda r, b: c.login_as(**b)),
            ("POST", "/admin/approve_device", lambda r, b: c.approve_device(**b)),
            ("POST", "/admin/deny_device", lambda r, b: c.deny_device(**b)),
            ("POST", "/admin/auto_approve", lambda r, b: c.set_auto_approve(b.get("user"))),
            (
                "POST",
                "/admin/expire_access_tokens",
                lambda r, b: {"expired": c.expire_access_tokens(**b)},
            ),
            ("POST", "/admin/revoke_user", lambda r, b: {"revoked": c.revoke_user(**b)}),
            ("POST", "/admin/rotate_keys", lambda r, b: {"kid": c.rotate_keys(**b)}),
            ("GET", "/admin/apps", lambda r, b: c.authority.public_apps()),
            ("GET", "/admin/apps/{name}", lambda r, b: _app_json(c, r.path_params["name"])),
            ("POST", "/admin/apps/{name}", lambda r, b: _configure(c, r.path_params["name"], b)),
            ("POST", "/admin/faults", lambda r, b: c.inject_fault(**b)),
            ("POST", "/admin/faults/clear", lambda r, b: c.clear_faults()),
            ("GET", "/admin/clock", lambda r, b: {"offset": c.clock_offset}),
            ("POST", "/admin/clock", lambda r, b: _clock(c, b)),
        ]
        return [Route(path, self._wrap(fn), methods=[method]) for method, path, fn in table]

    def _wrap(self, fn: Callable[[Request, dict[str, Any]], Any]) -> Handler:
        async def handler(request: Request) -> Response:
            try:
                result = fn(request, await _json(request))
            except OAuthFailure as failure:  # e.g. login_as with an unknown scope
                body = {"error": failure.error, "error_description": failure.description}
                return JSONResponse(body, status_code=failure.status)
            except (SettingsError, TypeError, ValueError, AttributeError) as exc:
                # AttributeError: a JSON value of the wrong type, e.g. a number as user_code.
                return _bad(str(exc))
            return JSONResponse({"ok": True} if result is None else result)

        return handler


def _app_json(controls: Controls, name: str) -> dict[str, Any]:
    return dict(vars(controls.authority.app(name)))


def _configure(controls: Controls, name: str, body: dict[str, Any]) -> dict[str, Any]:
    controls.configure_app(name, **body)
    return controls.authority.public_apps()[name]


def _clock(controls: Controls, body: dict[str, Any]) -> dict[str, float]:
    if "offset" in body:
        controls.set_clock_offset(float(body["offset"]))
    if "advance" in body:
        controls.advance_clock(float(body["advance"]))
    return {"offset": controls.clock_offset}


MEASUREMENTS = [
    {"month": f"2026-{m:02d}", "station": "Kew Gardens", "mean_temp_c": t, "rain_mm": r}
    for m, t, r in [
        (1, 4.9, 55.2),
        (2, 5.3, 40.1),
        (3, 7.6, 37.4),
        (4, 10.2, 43.7),
        (5, 13.5, 49.3),
        (6, 16.6, 45.1),
        (7, 18.7, 44.7),
        (8, 18.4, 49.5),
        (9, 15.6, 49.1),
        (10, 12.0, 68.5),
        (11, 7.9, 59.0),
        (12, 5.5, 55.2),
    ]
]


class DemoApi:
    """A resource server: checks bearer tokens from the ``default`` server as an API would."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority

    def routes(self) -> list[Route]:
        return [
            Route("/api/whoami", self._protected(self.whoami, None), methods=["GET"]),
            Route("/api/measurements", self._protected(self.measurements, None), methods=["GET"]),
            Route("/api/reports", self._protected(self.reports, "demo.read"), methods=["GET"]),
        ]

    def _protected(
        self, fn: Callable[[dict[str, Any]], dict[str, Any]], scope: str | None
    ) -> Handler:
        server = self.authority.servers["default"]

        async def handler(request: Request) -> Response:
            try:
                record, claims = self.authority.access_record(server, bearer(request))
                if scope is not None and scope not in record.scopes:
                    raise BearerFailure(
                        403,
                        "insufficient_scope",
                        f"The access token must have the '{scope}' scope.",
                    )
            except BearerFailure as failure:
                return bearer_error(failure, server.audience, scope)
            return JSONResponse(fn(claims))

        return handler

    @staticmethod
    def whoami(claims: dict[str, Any]) -> dict[str, Any]:
        return {"sub": claims["sub"], "client_id": claims["cid"], "scopes": claims["scp"]}

    @staticmethod
    def measurements(claims: dict[str, Any]) -> dict[str, Any]:
        return {"unit": "metric", "rows": MEASUREMENTS}

    @staticmethod
    def reports(claims: dict[str, Any]) -> dict[str, Any]:
        temps = [row["mean_temp_c"] for row in MEASUREMENTS]
        return {"year": 2026, "mean_temp_c": round(sum(temps) / len(temps), 2)}  # type: ignore[arg-type]
