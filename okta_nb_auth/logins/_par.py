"""Pushed authorization requests (RFC 9126), the way into the browser login when offered.

The authorization request (state, nonce, PKCE challenge, redirect URI, scopes) is POSTed to the
server's ``pushed_authorization_request_endpoint`` (Okta's ``/v1/par``) with the session's
client and the client's own authentication, exactly as a token request is sent; the browser
then opens only ``{authorization_endpoint}?client_id=...&request_uri=...`` (RFC 9126 §4).
Nothing here prints or logs: the request carries a client secret for ``client_secret_post``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import urlencode

import httpx

from .._config import OktaConfig
from .._exceptions import ProtocolError
from .._protocol import _authenticated, error_from_response, json_body
from ._base import send

__all__ = ["par_request", "parse_par_response", "push_authorization", "request_uri_url"]


def par_request(config: OktaConfig, endpoint: str, params: Mapping[str, str]) -> httpx.Request:
    """The PAR POST: the authorization request plus the client's credentials, sent once
    (a Basic header or the body, as ``config.auth_method`` says), never ``client_id`` twice."""
    pushed = {k: v for k, v in params.items() if k != "client_id"}
    return _authenticated(config, endpoint, pushed, "par")


def parse_par_response(response: httpx.Response, now: float) -> str:
    """The ``request_uri`` of a PAR answer (RFC 9126 §2.2), or the error from the tree:
    :class:`ConfigError` for ``invalid_client`` or a bad redirect URI, :class:`TransientError`
    for 5xx and 429, :class:`ProtocolError` for an answer that is not PAR's."""
    if not response.is_success:
        raise error_from_response(response, now)
    body = json_body(response)
    uri = body.get("request_uri") if isinstance(body, dict) else None
    if not isinstance(uri, str) or not uri:
        raise ProtocolError(
            f"{response.request.url.path} answered HTTP {response.status_code} without a "
            "'request_uri': this server's PAR endpoint is not behaving like Okta's.",
            status_code=response.status_code,
        )
    return uri


def request_uri_url(authorization_endpoint: str, client_id: str, request_uri: str) -> str:
    """The page to open for a pushed request: only ``client_id`` and ``request_uri``."""
    sep = "&" if "?" in authorization_endpoint else "?"
    query = urlencode({"client_id": client_id, "request_uri": request_uri})
    return authorization_endpoint + sep + query


def push_authorization(
    config: OktaConfig, session: httpx.Client, endpoint: str, params: Mapping[str, str]
) -> str:
    """Push ``params`` to ``endpoint`` with ``session``; the ``request_uri`` to open."""
    sent_at = time.time()
    response = send(session, par_request(config, endpoint, params))
    return parse_par_response(response, sent_at)
