"""Client authentication at the token, device, revoke and introspect endpoints (spec §2.2)."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable, Mapping
from urllib.parse import unquote_plus

from ._settings import AppSettings
from ._state import OAuthFailure

__all__ = ["authenticate_client"]

GENERIC = "Client authentication failed. Either the client or the client credentials are invalid."
MULTIPLE = (
    "Cannot supply multiple client credentials. Use one of the following: credentials in the "
    "Authorization header, credentials in the post body, or a client_assertion in the post body."
)
BAD_HEADER = "Found Authentication header but was not valid client credentials."


def _invalid_client(description: str) -> OAuthFailure:
    return OAuthFailure(401, "invalid_client", description)


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


def authenticate_client(
    find_app: Callable[[str], AppSettings | None],
    form: Mapping[str, str],
    authorization: str | None,
    query: Mapping[str, str],
) -> AppSettings:
    """Return the app the request authenticates as, or raise Okta's error.

    Strict, as Okta is: the app's configured method is enforced, and credentials in both the
    header and the body are rejected.
    """
    if any(name in query for name in ("client_secret", "client_assertion")):
        raise OAuthFailure(
            400, "invalid_request", "Client credentials cannot be supplied via query parameters."
        )
    body_secret = form.get("client_secret")
    assertion = form.get("client_assertion")
    if authorization:
        client_id, secret = _basic(authorization)
        body_id = form.get("client_id")
        if body_secret is not None or assertion is not None or body_id not in (None, client_id):
            raise OAuthFailure(401, "invalid_request", MULTIPLE)
        method = "client_secret_basic"
    elif assertion is not None:
        raise _invalid_client(GENERIC)  # private_key_jwt is not offered by the dev server
    elif "client_id" in form:
        client_id, secret = form["client_id"], body_secret or ""
        method = "client_secret_post" if body_secret is not None else "none"
    else:
        raise _invalid_client("No client credentials found.")
    app = find_app(client_id)
    if app is None:
        raise _invalid_client("Invalid value for 'client_id' parameter.")
    if method == "none" or app.is_public:
        if method != app.token_endpoint_auth_method:
            raise _invalid_client(GENERIC)
        return app
    expected = (app.client_secret or "").encode()
    if not hmac.compare_digest(secret.encode(), expected):
        raise _invalid_client("The client secret supplied for a confidential client is invalid.")
    if method != app.token_endpoint_auth_method:
        raise _invalid_client(GENERIC)
    return app
