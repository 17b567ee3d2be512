"""Client authentication at the token, device, revoke and introspect endpoints (spec §2.2).

The request's shape says which method it used: a Basic header (``client_secret_basic``), a
secret in the form body (``client_secret_post``), only a ``client_id`` (``none``), or a
``client_assertion``. The app says which method it is configured for. Okta groups the two secret
methods ("If your client's token_endpoint_auth_method is either client_secret_basic or
client_secret_post, include the client secret"), so a secret sent by the other one is accepted
and noted in the event log (``auth_mismatch``); a ``strict`` server or app refuses it with Okta's
``invalid_token_endpoint_auth_method`` (401 ``invalid_client``). A secret where none is expected,
or none where one is, is always refused.

A ``client_assertion`` (with ``client_assertion_type`` jwt-bearer, else 400 ``invalid_request``)
is ``private_key_jwt``, verified against the app's ``jwks`` (``_assertions``), or, with an HMAC
``alg``, ``client_secret_jwt``, which is not offered (401 ``invalid_client``). The client is the
body's ``client_id``, else the assertion's ``sub``. A signed assertion for an app without a JWKS
answers Okta's ``client_assertion_jwks_not_configured``; one whose header does not even parse,
for an app of another method, is refused as that method mismatch.

Adding a method: name it in :func:`_presented`, verify it in ``VERIFIERS``, give it a family in
``FAMILIES``.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from ._assertions import JWT_BEARER, TYPE_INVALID, Endpoint, assertion_kind, refused
from ._assertions import verify_assertion as _verify_assertion
from ._settings import AppSettings
from ._state import OAuthFailure

__all__ = ["FAMILIES", "VERIFIERS", "Endpoint", "Presented", "authenticate_client"]

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
    """The credentials a request carries and the method they amount to. For an assertion:
    ``readable`` if its header parses, ``by_subject`` if ``client_id`` is its ``sub``."""

    method: str
    client_id: str
    secret: str = field(default="", repr=False)
    assertion: str = field(default="", repr=False)
    readable: bool = False
    by_subject: bool = False


def _invalid_client(description: str) -> OAuthFailure:
    return OAuthFailure(401, "invalid_client", description)


def _check_secret(app: AppSettings, presented: Presented, endpoint: Endpoint) -> None:
    expected = (app.client_secret or "").encode()
    if not hmac.compare_digest(presented.secret.encode(), expected):
        raise _invalid_client(BAD_SECRET)


def _check_nothing(app: AppSettings, presented: Presented, endpoint: Endpoint) -> None:
    """``none``: the client ID is all there is (PKCE protects the code instead)."""


def _check_assertion(app: AppSettings, presented: Presented, endpoint: Endpoint) -> None:
    _verify_assertion(app, presented.assertion, endpoint)


#: How each offered method is verified. A method without an entry (``client_secret_jwt``)
#: is refused with the generic ``invalid_client``.
VERIFIERS: dict[str, Callable[[AppSettings, Presented, Endpoint], None]] = {
    "client_secret_basic": _check_secret,
    "client_secret_post": _check_secret,
    "private_key_jwt": _check_assertion,
    "none": _check_nothing,
}
#: Methods of one family may stand in for each other (unless strict); other pairs never do.
FAMILIES: dict[str, str] = {
    "client_secret_basic": "secret",
    "client_secret_post": "secret",
    "private_key_jwt": "jwt",
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
        return _asserted(form, assertion)
    if "client_id" not in form:
        raise _invalid_client("No client credentials found.")
    if body_secret is not None:
        return Presented("client_secret_post", form["client_id"], body_secret)
    return Presented("none", form["client_id"])


def _asserted(form: Mapping[str, str], assertion: str) -> Presented:
    """An RFC 7523 client assertion; its ``sub`` names the client when the body does not."""
    if form.get("client_assertion_type") != JWT_BEARER:
        raise OAuthFailure(
            400, "invalid_request", TYPE_INVALID, detail="client_assertion_type_invalid"
        )
    method, readable, subject = assertion_kind(assertion)
    client_id = form.get("client_id")
    by_subject = client_id is None
    return Presented(
        method, subject if by_subject else str(client_id), "", assertion, readable, by_subject
    )


def _unknown_client(presented: Presented) -> OAuthFailure:
    if not presented.by_subject:
        return _invalid_client("Invalid value for 'client_id' parameter.")
    if presented.readable:
        return refused("client_assertion_invalid_subject")
    return refused("client_assertion_invalid_jwt")


def authenticate_client(
    find_app: Callable[[str], AppSettings | None],
    form: Mapping[str, str],
    authorization: str | None,
    query: Mapping[str, str],
    *,
    endpoint: Endpoint,
    strict: bool = False,
    ctx: dict[str, Any] | None = None,
) -> AppSettings:
    """Return the app the request authenticates as, or raise Okta's error.

    ``endpoint`` is where the request went (an assertion's audience, and the spent ``jti`` s).
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
        raise _unknown_client(presented)
    configured = app.token_endpoint_auth_method
    mismatch = presented.method != configured
    if mismatch:
        notes["auth_mismatch"] = MISMATCH
        if presented.readable and app.jwks is None:
            raise refused("client_assertion_jwks_not_configured")
        if FAMILIES[presented.method] != FAMILIES.get(configured):
            raise _refused(notes)  # a secret for a public app, or none for one with a secret
    verify(app, presented, endpoint)
    if mismatch and (strict or app.strict_auth_method):
        raise _refused(notes)
    return app


def _refused(notes: dict[str, Any]) -> OAuthFailure:
    notes["detail"] = MISMATCH
    return _invalid_client(GENERIC)
