"""What ``/v1/authorize`` and ``/v1/par`` check in an authorization request (spec §2.1).

Both endpoints run the same checks with Okta's texts. ``/v1/par`` answers a failure as JSON;
``/v1/authorize`` redirects it to the client, except for an unknown client or redirect URI,
which get an error page (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._authority import Authority
from ._settings import AppSettings
from ._state import OAuthFailure
from ._tokens import AuthServer

__all__ = [
    "BAD_CLIENT",
    "BAD_REDIRECT",
    "PAR_REQUIRED",
    "check_redirect_uri",
    "check_request",
]

CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
BAD_CLIENT = "Invalid value for 'client_id' parameter."
BAD_REDIRECT = (
    "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings."
)
#: Okta has no such app setting, so no text of its own: the dev server's words, shaped like
#: Okta's "PKCE code challenge is required by the application." (README, "Fidelity").
PAR_REQUIRED = "A pushed authorization request (PAR) is required by the application."


def _invalid(description: str) -> OAuthFailure:
    return OAuthFailure(400, "invalid_request", description)


def check_redirect_uri(app: AppSettings, params: Mapping[str, str]) -> None:
    """The redirect URI must be one of the app's, exactly (port included)."""
    if params.get("redirect_uri") not in app.redirect_uris:
        raise _invalid(BAD_REDIRECT)


def check_request(
    authority: Authority,
    server: AuthServer,
    app: AppSettings,
    params: Mapping[str, str],
    *,
    pushed: bool,
) -> None:
    """Raise Okta's error for the first thing wrong with an authorization request.

    ``pushed``: the request came through ``/v1/par`` (an app with
    ``require_pushed_authorization_requests`` refuses any other).
    """
    if app.require_pushed_authorization_requests and not pushed:
        raise _invalid(PAR_REQUIRED)
    if params.get("response_type") != "code":
        raise OAuthFailure(
            400,
            "unsupported_response_type",
            "The response type is not supported by the authorization server. "
            "Configured response types: [code].",
        )
    if params.get("response_mode", "query") not in ("query", "fragment", "form_post"):
        raise _invalid("The 'response_mode' parameter is not supported.")
    if not params.get("state"):
        raise _invalid("The authentication request has an invalid 'state' parameter.")
    if "authorization_code" not in app.grant_types:
        raise OAuthFailure(
            400,
            "unauthorized_client",
            "The client is not authorized to use the provided grant type. "
            f"Configured grant types: [{', '.join(app.grant_types)}].",
        )
    authority.check_scopes(server, params.get("scope", ""))
    _check_pkce(app, params)


def _check_pkce(app: AppSettings, params: Mapping[str, str]) -> None:
    challenge = params.get("code_challenge")
    if challenge is None:
        if app.pkce_required:
            raise _invalid("PKCE code challenge is required by the application.")
        return
    if params.get("code_challenge_method") != "S256":
        raise _invalid("PKCE code challenge method is not supported. Valid values: [S256]")
    if not CHALLENGE.match(challenge):
        raise _invalid("PKCE code challenge contains illegal characters.")
