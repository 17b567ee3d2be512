"""HTTP plumbing shared by the dev server's routes: strict form parsing and Okta's responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ._pages import error_page
from ._state import OAuthFailure

__all__ = [
    "DropResponse",
    "DroppedConnection",
    "is_loopback",
    "not_found",
    "oauth_error",
    "oauth_json",
    "read_form",
    "server_error",
]

NO_STORE = {"Cache-Control": "no-cache, no-store", "Pragma": "no-cache", "Expires": "0"}
ERROR_TYPE = "application/json;charset=UTF-8"


async def read_form(request: Request, max_bytes: int) -> dict[str, str]:
    """Parse an ``application/x-www-form-urlencoded`` body; Okta's error for anything else."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise OAuthFailure(
            400,
            "invalid_request",
            "The request body must be sent as application/x-www-form-urlencoded.",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(max_bytes)
    try:
        pairs = parse_qsl(
            bytes(body).decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=100,
        )
    except UnicodeDecodeError:
        raise OAuthFailure(400, "invalid_request", "The request body is not valid UTF-8.") from None
    except ValueError:
        raise OAuthFailure(400, "invalid_request", "The request has too many parameters.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthFailure(
                400, "invalid_request", f"The '{name}' parameter was provided more than once."
            )
        form[name] = value
    return form


def _too_large(limit: int) -> OAuthFailure:
    return OAuthFailure(413, "invalid_request", f"The request body is larger than {limit} bytes.")


def oauth_json(body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    """A 200 token-endpoint style answer: JSON, never cached."""
    if headers and headers.keys() & NO_STORE.keys():
        return JSONResponse(dict(body), headers={**NO_STORE, **headers})
    return _OAuthJSON(body, headers or {})


_NO_STORE_RAW = [
    (name.lower().encode("latin-1"), v.encode("latin-1")) for name, v in NO_STORE.items()
]


class _OAuthJSON(JSONResponse):
    """``JSONResponse(body, headers={**NO_STORE, **headers})`` byte for byte (the same body,
    headers and order), with the constant headers encoded once: every token answer is one."""

    def __init__(self, body: Mapping[str, Any], headers: Mapping[str, str]) -> None:
        self.status_code = 200
        self.background = None
        self.body = self.render(body)
        self.raw_headers = [
            *_NO_STORE_RAW,
            *((name.lower().encode("latin-1"), v.encode("latin-1")) for name, v in headers.items()),
            (b"content-length", str(len(self.body)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ]


def oauth_error(failure: OAuthFailure, headers: Mapping[str, str] | None = None) -> Response:
    """``{"error", "error_description"}`` with Okta's status and content type."""
    content = json.dumps({"error": failure.error, "error_description": failure.description})
    return Response(
        content,
        status_code=failure.status,
        media_type=ERROR_TYPE,
        headers={**NO_STORE, **failure.headers, **(headers or {})},
    )


def not_found(server_id: str) -> Response:
    """Okta's management-style 404 for an unknown authorization server (spec §1.2)."""
    body = {
        "errorCode": "E0000007",
        "errorSummary": f"Not found: Resource not found: {server_id} (AuthorizationServer)",
        "errorLink": "E0000007",
        "errorId": "oae" + "0" * 19,
        "errorCauses": [],
    }
    return JSONResponse(body, status_code=404)


def html_error(text: str, status: int = 400) -> HTMLResponse:
    return HTMLResponse(error_page(text), status_code=status)


def is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    return host == "::1" or host.startswith("127.") or host == "localhost"


class DroppedConnection(Exception):
    """Raised on purpose to cut a response short (fault injection); not a server bug."""


async def server_error(request: Request, exc: Exception) -> Response:
    """The answer to an unexpected exception: logged by type, never with a stack trace."""
    if isinstance(exc, DroppedConnection):  # on purpose: the response was already cut short
        return Response(status_code=500)
    logging.getLogger("okta_nb_auth.devserver").error(
        "internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return JSONResponse(
        {"error": "server_error", "error_description": "The dev server hit an internal error."},
        status_code=500,
    )


class DropResponse(Response):
    """Starts a response, sends part of it, then drops the connection."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"token_type":', "more_body": True})
        raise DroppedConnection("connection dropped by fault injection")
