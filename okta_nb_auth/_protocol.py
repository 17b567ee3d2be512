"""Sans-I/O OAuth 2.0: build :class:`httpx.Request` objects and parse :class:`httpx.Response` s.

Nothing here sends a request, sleeps or reads a clock on its own: callers pass ``now``.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import math
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx

from ._config import OktaConfig
from ._exceptions import (
    ConfigError,
    LoginRequired,
    OktaAuthError,
    ProtocolError,
    RateLimited,
    TransientError,
)
from ._models import TokenSet

__all__ = [
    "DEVICE_CODE_GRANT",
    "authorization_code_request",
    "client_credentials_request",
    "device_authorize_request",
    "device_code_request",
    "error_from_response",
    "json_body",
    "make_pkce",
    "parse_token_response",
    "pkce_challenge",
    "refresh_request",
    "revoke_request",
    "server_skew",
]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_FORM = "application/x-www-form-urlencoded"

_RELOGIN = "Log in again (for example with the login widget or the device flow)."
_ADMIN = "In the Okta Admin Console, Applications > (your app) > General Settings"

#: Okta ``error`` code -> (error class, advice). Explicit on purpose: no reflection, and the
#: advice says how to fix the problem. ``unauthorized_client`` is refined per grant below.
_ERROR_MAP: dict[str, tuple[type[OktaAuthError], str]] = {
    "invalid_grant": (LoginRequired, f"The grant (refresh token or code) is dead. {_RELOGIN}"),
    "login_required": (LoginRequired, _RELOGIN),
    "consent_required": (LoginRequired, f"The user must consent first. {_RELOGIN}"),
    "expired_token": (LoginRequired, f"The device code expired. {_RELOGIN}"),
    "invalid_token": (LoginRequired, _RELOGIN),
    "unauthorized_client": (
        ConfigError,
        f"{_ADMIN}: enable the grant type this request uses for this app.",
    ),
    "invalid_client": (
        ConfigError,
        "Client authentication failed: check client_id, client_secret and "
        "token_endpoint_auth_method against the app's Client Credentials settings.",
    ),
    "invalid_scope": (
        ConfigError,
        "Request only scopes the authorization server defines and its access policy grants.",
    ),
    "unsupported_grant_type": (
        ConfigError,
        "Enable the grant type on the authorization server's access policy rule.",
    ),
    "invalid_request": (ConfigError, "The request was rejected; check the app's settings."),
    "access_denied": (
        ConfigError,
        "Check that the user is assigned to the app and that an access policy rule matches.",
    ),
    "unsupported_response_type": (ConfigError, "Check the app's allowed grant types."),
    "authorization_pending": (TransientError, "The user has not finished logging in yet."),
    "slow_down": (TransientError, "Poll less often."),
    "server_error": (TransientError, "Okta had an internal error; retry later."),
    "temporarily_unavailable": (TransientError, "Okta is overloaded; retry later."),
}


# ----------------------------------------------------------------- client authentication


def _basic(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: form-encode both parts before base64, so ':' or '+' in a secret survive.
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _authenticated(
    config: OktaConfig, url: str, params: Mapping[str, str], kind: str
) -> httpx.Request:
    """A form POST carrying the client's credentials exactly once (header *or* body)."""
    data = {k: v for k, v in params.items() if v is not None}
    headers = {"Accept": "application/json", "Content-Type": _FORM}
    method = config.auth_method
    if method == "client_secret_basic":
        headers["Authorization"] = _basic(config.client_id, config.client_secret or "")
    elif method == "client_secret_post":
        data.update(client_id=config.client_id, client_secret=config.client_secret or "")
    elif method == "private_key_jwt":  # a fresh assertion naming this URL instead of a secret
        from ._client_auth import assertion_fields  # only such apps load the signing code

        data.update(assertion_fields(config, url))
    else:
        data["client_id"] = config.client_id
    return httpx.Request(
        "POST", url, headers=headers, content=urlencode(data), extensions={"okta_nb_auth": kind}
    )


def _scope(scopes: Iterable[str] | None) -> dict[str, str]:
    joined = " ".join(scopes) if scopes is not None else ""
    return {"scope": joined} if joined else {}


def refresh_request(
    config: OktaConfig, token_endpoint: str, refresh_token: str, scopes: Iterable[str] | None = None
) -> httpx.Request:
    """``grant_type=refresh_token``; ``scopes`` (optional) must be a subset of the grant's."""
    params = {"grant_type": "refresh_token", "refresh_token": refresh_token, **_scope(scopes)}
    return _authenticated(config, token_endpoint, params, "token")


def authorization_code_request(
    config: OktaConfig,
    token_endpoint: str,
    code: str,
    redirect_uri: str,
    code_verifier: str | None = None,
) -> httpx.Request:
    """Exchange an authorization code (with its PKCE verifier) for tokens."""
    params = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier is not None:
        params["code_verifier"] = code_verifier
    return _authenticated(config, token_endpoint, params, "token")


def client_credentials_request(
    config: OktaConfig, token_endpoint: str, scopes: Iterable[str] | None = None
) -> httpx.Request:
    """``grant_type=client_credentials`` for service apps (custom authorization servers)."""
    params = {"grant_type": "client_credentials", **_scope(scopes)}
    return _authenticated(config, token_endpoint, params, "token")


def device_authorize_request(
    config: OktaConfig, endpoint: str, scopes: Iterable[str] | None = None
) -> httpx.Request:
    """Start the device authorization grant (RFC 8628 §3.1)."""
    return _authenticated(config, endpoint, _scope(scopes or config.scopes), "device")


def device_code_request(config: OktaConfig, token_endpoint: str, device_code: str) -> httpx.Request:
    """Poll the token endpoint for a device code (RFC 8628 §3.4)."""
    params = {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code}
    return _authenticated(config, token_endpoint, params, "token")


def revoke_request(
    config: OktaConfig, endpoint: str, token: str, token_type_hint: str | None = None
) -> httpx.Request:
    """Revoke a token (RFC 7009); Okta answers 200 with an empty body even for unknown ones."""
    params = {"token": token}
    if token_type_hint:
        params["token_type_hint"] = token_type_hint
    return _authenticated(config, endpoint, params, "revoke")


# ----------------------------------------------------------------------------- PKCE


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_pkce() -> tuple[str, str]:
    """A fresh ``(verifier, challenge)`` pair; the verifier has 64 URL-safe characters."""
    verifier = secrets.token_urlsafe(48)
    return verifier, pkce_challenge(verifier)


# -------------------------------------------------------------------------- responses


def server_skew(response: httpx.Response, now: float) -> float | None:
    """Server clock minus local clock (seconds) from the ``Date`` header, or None."""
    raw = response.headers.get("Date")
    if not raw:
        return None
    try:
        return email.utils.parsedate_to_datetime(raw).timestamp() - now
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def json_body(response: httpx.Response) -> Any:
    """The JSON body, or a :class:`TransientError` for HTML, empty or garbled bodies.

    A proxy's or load balancer's HTML page is not Okta's answer, so trying later may help.
    """
    try:
        return json.loads(response.content)
    except RecursionError:
        raise ProtocolError(
            f"{response.request.url.path} answered HTTP {response.status_code} with JSON "
            "nested too deeply to be an OAuth answer.",
            status_code=response.status_code,
        ) from None
    except (ValueError, UnicodeDecodeError):
        kind = "an empty body" if not response.content else "a body that is not JSON"
        ctype = response.headers.get("Content-Type", "no content type")
        raise TransientError(
            f"{response.request.url.path} answered HTTP {response.status_code} with {kind} "
            f"({ctype}); a proxy or an outage may be in the way. Retry later.",
            status_code=response.status_code,
        ) from None


def _retry_at(response: httpx.Response, now: float) -> float | None:
    try:
        reset = float(response.headers["X-Rate-Limit-Reset"])
    except (KeyError, ValueError):
        return None
    # The reset is an epoch in the *server's* clock: convert it to ours. NaN or infinity
    # (or a skew that makes it so) says nothing about when to retry.
    retry_at = reset - (server_skew(response, now) or 0.0)
    return retry_at if math.isfinite(retry_at) else None


def error_from_response(
    response: httpx.Response, now: float, grant_type: str | None = None
) -> OktaAuthError:
    """Translate a non-2xx OAuth response into the error tree (never raises it)."""
    status = response.status_code
    if status == 429:
        retry_at = _retry_at(response, now)
        when = f" in {max(retry_at - now, 0):.0f} s" if retry_at is not None else " later"
        return RateLimited(
            f"Okta's rate limit was hit (HTTP 429): the current tokens are kept; retry{when}, "
            "when the limit resets.",
            retry_at=retry_at,
            status_code=status,
        )
    if status >= 500:
        return TransientError(f"Okta answered HTTP {status}; retry later.", status_code=status)
    try:
        body = json_body(response)
    except (TransientError, ProtocolError) as exc:
        return exc
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        summary = body.get("errorSummary") if isinstance(body, dict) else None
        cls = ConfigError if status == 404 else ProtocolError
        return cls(
            f"HTTP {status} from {response.request.url.path}: {summary or 'no OAuth error'}. "
            "Check the issuer URL.",
            status_code=status,
        )
    return _oauth_error(body["error"], body.get("error_description"), status, grant_type)


def _oauth_error(
    error: str, description: object, status: int, grant_type: str | None
) -> OktaAuthError:
    cls, advice = _ERROR_MAP.get(error, (OktaAuthError, "See Okta's error description."))
    if error == "unauthorized_client" and grant_type == "refresh_token":
        advice = f"{_ADMIN}: enable the Refresh Token grant type for this app."
    desc = description if isinstance(description, str) else None
    text = f"Okta refused the request: {error}"
    text += f" ({desc})" if desc else ""
    return cls(f"{text}. {advice}", error=error, error_description=desc, status_code=status)


def parse_token_response(
    response: httpx.Response, now: float, grant_type: str | None = None
) -> TokenSet:
    """A :class:`TokenSet` from a token response, or the matching error from the tree.

    ``now`` should be when the request was *sent*, so latency shortens the lifetime rather
    than lengthening it.
    """
    if not response.is_success:
        raise error_from_response(response, now, grant_type)
    return TokenSet.from_response(json_body(response), now=now)
