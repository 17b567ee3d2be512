"""Client authentication at the token, device, revoke and introspect endpoints (spec §2.2).

The request's shape says which method it used: a Basic header (``client_secret_basic``), a
secret in the form body (``client_secret_post``), only a ``client_id`` (``none``), or a
``client_assertion``. The app says which method it is configured for. Okta groups the two secret
methods ("If your client's token_endpoint_auth_method is either client_secret_basic or
client_secret_post, include the client secret"), so a secret sent by the other one is accepted
and noted in the event log (``auth_mismatch``); a ``strict`` server or app refuses it with Okta's
``invalid_token_endpoint_auth_method`` (401 ``invalid_client``). A secret where none is expected,
or none where one is, is always refused.

Adding a method (``private_key_jwt``): name it in :func:`_presented`, verify it in
``VERIFIERS``, give it a family in ``FAMILIES``.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from ._settings import AppSettings
from ._state import OAuthFailure

__all__ = ["FAMILIES", "VERIFIERS", "Presented", "authenticate_client"]

# ERR: invalid_client and invalid_token_endpoint_auth_method share this text.
GENERIC = "Client authentication failed. Either the client or the client credentials are invalid."
MULTIPLE = (
    "Cannot supply multiple client credentials. Use one of the following: credentials in the "
    "Authorization header, credentials in the post body, or a client_assertion in the post body."
)
BAD_HEADER = "Found Authentication header but was not valid client credentials."
BAD_SECRET = "The client secret supplied for a confidential client is invalid."
#: Okta's System Log reason for a method other than the app's; the event log uses it too.
MISMATCH = "invalid_token_endpoint_auth_method"


@dataclass(frozen=True)
class Presented:
    """The credentials a request carries and the method they amount to."""

    method: str
    client_id: str
    secret: str = ""


def _invalid_client(description: str) -> OAuthFailure:
    return OAuthFailure(401, "invalid_client", description)


def _check_secret(app: AppSettings, presented: Presented) -> None:
    expected = (app.client_secret or "").encode()
    if not hmac.compare_digest(presented.secret.encode(), expected):
        raise _invalid_client(BAD_SECRET)


def _check_nothing(app: AppSettings, presented: Presented) -> None:
    """``none``: the client ID is all there is (PKCE protects the code instead)."""


#: How each offered method is verified. A method without an entry (a ``client_assertion``,
#: today) is refused with the generic ``invalid_client``.
VERIFIERS: dict[str, Callable[[AppSettings, Presented], None]] = {
    "client_secret_basic": _check_secret,
    "client_secret_post": _check_secret,
    "none": _check_nothing,
}
#: Methods of one family may stand in for each other (unless strict); other pairs never do.
FAMILIES: dict[str, str] = {
    "client_secret_basic": "secret",
    "client_secret_post": "secret",
    "none": "none",
}


def _basic(authorization: str) -> tuple[str, str]:
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        raise _invalid_client(BAD_HEADER)
    try:
        # A str with non-ASCII characters (a header's obs-text) raises a plain ValueError.
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII input
        raise _invalid_client(BAD_HEADER) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise _invalid_client(BAD_HEADER)
    # RFC 6749 §2.3.1: both parts are form-encoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)


def _presented(form: Mapping[str, str], authorization: str | None) -> Presented:
    """What the request authenticates with; ``invalid_request`` for two kinds at once."""
    body_secret = form.get("client_secret")
    assertion = form.get("client_assertion")
    if authorization:
        client_id, secret = _basic(authorization)
        body_id = form.get("client_id")
        if body_secret is not None or assertion is not None or body_id not in (None, client_id):
            raise OAuthFailure(401, "invalid_request", MULTIPLE)
        return Presented("client_secret_basic", client_id, secret)
    if assertion is not None:
        if body_secret is not None:
            raise OAuthFailure(401, "invalid_request", MULTIPLE)
        # client_secret_jwt or private_key_jwt, told apart by the assertion's alg; not offered.
        return Presented("client_assertion", form.get("client_id", ""))
    if "client_id" not in form:
        raise _invalid_client("No client credentials found.")
    if body_secret is not None:
        return Presented("client_secret_post", form["client_id"], body_secret)
    return Presented("none", form["client_id"])


def authenticate_client(
    find_app: Callable[[str], AppSettings | None],
    form: Mapping[str, str],
    authorization: str | None,
    query: Mapping[str, str],
    *,
    strict: bool = False,
    ctx: dict[str, Any] | None = None,
) -> AppSettings:
    """Return the app the request authenticates as, or raise Okta's error.

    ``strict`` (the server's setting; an app's own ``strict_auth_method`` also counts) refuses
    a secret sent by the other secret method. ``ctx`` receives ``auth_method``, ``client_id``
    and, for a method other than the app's, ``auth_mismatch`` (and ``detail`` if refused).
    """
    notes: dict[str, Any] = {} if ctx is None else ctx
    if any(name in query for name in ("client_secret", "client_assertion")):
        raise OAuthFailure(
            400, "invalid_request", "Client credentials cannot be supplied via query parameters."
        )
    presented = _presented(form, authorization)
    notes["auth_method"] = presented.method
    if presented.client_id:
        notes["client_id"] = presented.client_id
    verify = VERIFIERS.get(presented.method)
    if verify is None:
        raise _invalid_client(GENERIC)
    app = find_app(presented.client_id)
    if app is None:
        raise _invalid_client("Invalid value for 'client_id' parameter.")
    configured = app.token_endpoint_auth_method
    mismatch = presented.method != configured
    if mismatch:
        notes["auth_mismatch"] = MISMATCH
        if FAMILIES[presented.method] != FAMILIES.get(configured):
            raise _refused(notes)  # a secret for a public app, or none for one with a secret
    verify(app, presented)
    if mismatch and (strict or app.strict_auth_method):
        raise _refused(notes)
    return app


def _refused(notes: dict[str, Any]) -> OAuthFailure:
    notes["detail"] = MISMATCH
    return _invalid_client(GENERIC)
