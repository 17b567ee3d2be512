"""Pushed authorization requests: Okta's ``POST {base}/v1/par`` (RFC 9126; OIDC-REF "/par").

``/v1/par`` authenticates the client as the token endpoint does, checks the authorization
request as ``/v1/authorize`` does (``_authorize_checks``), and answers 201 with
``{"request_uri", "expires_in"}`` in the shape of Okta's example (``urn:okta:...``, 3600 s).
Then ``/v1/authorize?client_id=...&request_uri=...`` takes the pushed parameters; any others in
the query are ignored (RFC 9126 §4 with RFC 9101 §6.3: only the pushed request counts).

A ``request_uri`` expires on the server's clock and gives one authorization code: reloading the
sign-in page before signing in works (RFC 9126 §4 "MAY allow for duplicate requests due to a
user reloading"), a second sign-in or a use after expiry gets ``invalid_request_uri``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse, Response

from ._authority import Authority
from ._authorize_checks import check_redirect_uri, check_request
from ._http import NO_STORE
from ._settings import AppSettings
from ._state import OAuthFailure, PushedRequest, opaque
from ._tokens import AuthServer

__all__ = ["MAX_PUSHED", "PAR_TTL", "PUSHED", "PushedRequests", "created"]

PAR_TTL = 3600  # OIDC-REF /par response example: "expires_in": 3600
#: At most this many live pushed requests (each up to a 64 KiB body); a push beyond it drops
#: the oldest, so a client pushing in a loop cannot fill the dev server's memory.
MAX_PUSHED = 1000
URI_PREFIX = "urn:okta:"  # OIDC-REF /par response example: "urn:okta:Y1hIQ3Zq..."
#: The key under which an authorize request resolved from a ``request_uri`` remembers it.
PUSHED = "_request_uri"
# ERR texts: invalid_request_uri, authorize_request_uri_mismatched_authorization_server,
# authorize_request_uri_mismatched_client, pushed_authorization_request_uri_present,
# authorize_request_object_and_request_uri_provided.
INVALID_URI = "The authorize request_uri is invalid."
OTHER_SERVER = "The request_uri was issued for another authorization server."
OTHER_CLIENT = (
    "The 'client_id' parameter does not match the expected value for the provided request_uri."
)
URI_PRESENT = "The 'request_uri' parameter must not be present in the request."
BOTH = "The authorize request must not contain both a request object and a request uri."
#: Client authentication, not part of the authorization request that is kept.
_CREDENTIALS = ("client_secret", "client_assertion", "client_assertion_type")


def _invalid_uri(description: str = INVALID_URI) -> OAuthFailure:
    return OAuthFailure(400, "invalid_request_uri", description)


def created(body: Mapping[str, Any], headers: Mapping[str, str]) -> Response:
    """RFC 9126 §2.2: 201 Created, JSON, never cached."""
    return JSONResponse(dict(body), status_code=201, headers={**NO_STORE, **headers})


class PushedRequests:
    """The pushed requests of one :class:`Authority` (kept in its store)."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority
        self.store = authority.store

    def push(self, server: AuthServer, app: AppSettings, form: Mapping[str, str]) -> dict[str, Any]:
        """Check and keep an authorization request pushed by the authenticated ``app``."""
        if "request_uri" in form:
            raise OAuthFailure(400, "invalid_request", URI_PRESENT)
        params = {k: v for k, v in form.items() if k not in _CREDENTIALS}
        params["client_id"] = app.client_id  # a Basic client need not repeat it in the body
        check_redirect_uri(app, params)
        check_request(self.authority, server, app, params, pushed=True)
        uri = URI_PREFIX + opaque()
        self._keep(PushedRequest(uri, server.id, app.client_id, params, 0.0))
        return {"request_uri": uri, "expires_in": PAR_TTL}

    def _keep(self, record: PushedRequest) -> None:
        """Store ``record`` (expiring in :data:`PAR_TTL`), forgetting spent and excess ones."""
        with self.store.lock:
            now = self.store.clock()
            record.expires_at = now + PAR_TTL
            pushed = self.store.pushed
            for uri in [u for u, r in pushed.items() if r.used or r.expires_at < now]:
                del pushed[uri]
            while len(pushed) >= MAX_PUSHED:
                del pushed[next(iter(pushed))]  # the oldest: dicts keep insertion order
            pushed[record.request_uri] = record

    def resolve(
        self, server: AuthServer, app: AppSettings, query: Mapping[str, str]
    ) -> dict[str, str]:
        """The authorization request behind ``query``: the query itself without a
        ``request_uri``, else the pushed parameters (with :data:`PUSHED`)."""
        uri = query.get("request_uri")
        if uri is None:  # a plain request; it cannot pass itself off as a pushed one
            return {k: v for k, v in query.items() if k != PUSHED}
        if "request" in query:
            raise OAuthFailure(400, "invalid_request", BOTH)
        with self.store.lock:
            record = self.store.pushed.get(uri)
        if record is None or record.used or record.expires_at < self.store.clock():
            raise _invalid_uri()
        if record.server_id != server.id:
            raise _invalid_uri(OTHER_SERVER)
        if record.client_id != app.client_id:
            raise OAuthFailure(401, "invalid_client", OTHER_CLIENT)
        return {**record.params, PUSHED: uri}

    def consume(self, params: Mapping[str, str]) -> None:
        """Mark a pushed request used as its code is issued; a second use is refused."""
        uri = params.get(PUSHED)
        if uri is None:
            return
        with self.store.lock:
            record = self.store.pushed.get(uri)
            if record is None or record.used:
                raise _invalid_uri()
            record.used = True
