"""The allowed values of app settings and their validation (see ``_settings``).

Types come first: a string where a list belongs would make ``in`` a substring test (a prefix of
a registered redirect URI would match), and a float lifetime is not Okta's integer.
"""

from __future__ import annotations

import json
from typing import Any

from ._client_keys import jwks_problem

__all__ = [
    "APP_TYPES",
    "AUTH_METHODS",
    "DEVICE_GRANT",
    "GRANT_TYPES",
    "SECRET_METHODS",
    "app_problem",
    "coerce",
]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", DEVICE_GRANT)
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
AUTH_METHODS = (*SECRET_METHODS, "private_key_jwt", "none")
APP_TYPES = ("web", "native", "browser", "service")


def _json_object(value: Any) -> Any:
    """``jwks`` as a plain JSON object: parsed from a string (TOML's inline JSON), copied from
    a mapping (so the caller's object cannot change it later); anything else as it came."""
    try:
        return json.loads(value if isinstance(value, str) else json.dumps(value))
    except (ValueError, TypeError):
        return value


def coerce(name: str, value: Any) -> Any:
    """A TOML or JSON value as the field holds it: lists become tuples, rotation upper case,
    ``jwks`` a JSON object."""
    if name == "jwks" and value is not None:
        return _json_object(value)
    if isinstance(value, list):
        return tuple(value)
    if name == "rotation" and isinstance(value, str):
        return value.upper()
    return value


_LIST_FIELDS = (
    "grant_types",
    "redirect_uris",
    "post_logout_redirect_uris",
    "assigned_users",
    "default_scopes",
)
_SECONDS_FIELDS = (
    "access_token_ttl",
    "id_token_ttl",
    "refresh_token_ttl",
    "refresh_token_idle",
    "grace_period",
    "device_code_ttl",
    "device_interval",
)


def app_problem(app: Any) -> str | None:
    """What is wrong with an :class:`AppSettings`, in words for its error, or None."""
    for name in _LIST_FIELDS:
        value = getattr(app, name)
        if value is None and name == "assigned_users":
            continue
        if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
            return f"{name} must be a list of strings"
    for name in _SECONDS_FIELDS:
        value = getattr(app, name)
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} must be a whole number of seconds"
    for name in ("strict_auth_method", "require_pushed_authorization_requests"):
        if not isinstance(getattr(app, name), bool):
            return f"{name} must be true or false"
    if app.application_type not in APP_TYPES:
        return f"application_type must be one of {', '.join(APP_TYPES)}"
    if app.token_endpoint_auth_method not in AUTH_METHODS:
        return f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}"
    for grant in app.grant_types:
        if grant not in GRANT_TYPES:
            return f"unsupported grant type {grant!r}; supported: {', '.join(GRANT_TYPES)}"
    if app.token_endpoint_auth_method in SECRET_METHODS and not app.client_secret:
        return "a confidential client needs a client_secret"
    if app.token_endpoint_auth_method == "private_key_jwt" and app.jwks is None:
        return "token_endpoint_auth_method 'private_key_jwt' needs jwks, the app's public keys"
    problem = jwks_problem(app.jwks)
    if problem is not None:
        return problem
    if app.client_secret is not None and not 14 <= len(app.client_secret) <= 100:
        return "client_secret must be 14 to 100 characters long, as in Okta"
    if app.rotation not in ("STATIC", "ROTATE"):
        return "rotation must be 'STATIC' or 'ROTATE'"
    if not 0 <= app.grace_period <= 60:
        return "grace_period must be 0 to 60 seconds, as in Okta"
    for name in ("access_token_ttl", "id_token_ttl", "device_code_ttl"):
        if getattr(app, name) <= 0:
            return f"{name} must be a positive number of seconds"
    if app.refresh_token_ttl < 0 or app.refresh_token_idle <= 0 or app.device_interval < 0:
        return "refresh_token_ttl >= 0, refresh_token_idle > 0 and device_interval >= 0 required"
    return None
