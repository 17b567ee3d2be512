"""What the token service answers for one user's ``auth_state``: pure, so it is tested alone.

OAuthenticator keeps the Okta token response in ``auth_state`` (``access_token``,
``refresh_token``, ``id_token``, ``token_response``...). Only the access token and how long it
lasts leave the service; the refresh token and the ID token stay in the Hub. A Hub set up
without what this needs gets an answer naming the setting to change.
"""

from __future__ import annotations

import math
from typing import Any

import jwt

__all__ = ["token_answer"]

_AGAIN = "then sign in to the Hub again (File > Log Out, then log in)."
NO_STATE = (
    "The Hub keeps no auth_state, so it has no Okta tokens to lend: an admin sets "
    f"c.Authenticator.enable_auth_state = True (with JUPYTERHUB_CRYPT_KEY set); {_AGAIN}"
)
NOT_OAUTH = (
    "The Hub's login holds no OAuth tokens (its authenticator is not an OAuthenticator): an "
    "admin signs users in with OAuthenticator's GenericOAuthenticator pointed at Okta."
)
NO_REFRESH = (
    "The Hub's Okta login has no refresh token, so the Hub cannot keep it fresh: an admin adds "
    "'offline_access' to c.GenericOAuthenticator.scope (and allows the Refresh Token grant on "
    f"the Okta app); {_AGAIN}"
)


def _expires_in(state: dict[str, Any], now: float) -> float:
    """Seconds left: the access token's ``exp`` (read unverified: only to plan the next ask;
    the API judges the token), else the token response's ``expires_in``."""
    try:
        exp = jwt.decode(state["access_token"], options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        exp = None
    if isinstance(exp, (int, float)) and math.isfinite(exp):
        return float(exp) - now
    raw = (state.get("token_response") or {}).get("expires_in")
    return float(raw) if isinstance(raw, (int, float)) and math.isfinite(raw) else 0.0


def token_answer(state: object, now: float) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body for a user whose ``auth_state`` is ``state``."""
    if state is None:
        return 409, {"error": "no_auth_state", "message": NO_STATE}
    if not isinstance(state, dict) or not isinstance(state.get("access_token"), str):
        return 409, {"error": "not_oauth", "message": NOT_OAUTH}
    if not state.get("refresh_token"):
        return 409, {"error": "no_refresh_token", "message": NO_REFRESH}
    # Possibly expired: the Hub refreshes on its own schedule (the kernel asks again).
    body = {"access_token": state["access_token"], "expires_in": _expires_in(state, now)}
    return 200, {**body, "token_type": "Bearer"}
