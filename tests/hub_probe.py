"""Imported in a kernel of the Hub's single-user server: what the kernel sees of the Hub.

Each function prints nothing and returns JSON-ready summaries: tokens appear only as short
digests (``fingerprint``), so no token crosses back into the test's output.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any

import httpx

__all__ = ["call_api", "environment", "fingerprint", "hub_user", "wait_for_new_access_token"]


def fingerprint(token: str | None) -> str | None:
    """A token's short digest: what a summary may show instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:12] if token else None


def _get(path: str) -> httpx.Response:
    """GET ``$JUPYTERHUB_API_URL{path}`` with the server's own token, as the kernel can."""
    token = os.environ["JUPYTERHUB_API_TOKEN"]
    headers = {"Authorization": f"token {token}"}
    return httpx.get(os.environ["JUPYTERHUB_API_URL"] + path, headers=headers, timeout=30)


def _state_summary(state: dict[str, Any]) -> dict[str, Any]:
    response = state.get("token_response") or {}
    return {
        "keys": sorted(state),
        "response_keys": sorted(response),
        "access": fingerprint(state.get("access_token")),
        "refresh": fingerprint(state.get("refresh_token")),
        "response_access": fingerprint(response.get("access_token")),
        "response_refresh": fingerprint(response.get("refresh_token")),
        "scope": state.get("scope"),
        "expires_in": response.get("expires_in"),
    }


def hub_user(path: str | None = None) -> dict[str, Any]:
    """The user's model from the Hub (``/users/$JUPYTERHUB_USER`` unless ``path``), summed up."""
    response = _get(path or "/users/" + os.environ["JUPYTERHUB_USER"])
    model = response.json()
    state = model.get("auth_state")
    return {
        "status": response.status_code,
        "model_keys": sorted(model),
        "auth_state": _state_summary(state) if state else state,
        "scopes": model.get("scopes"),
    }


def _access_token() -> str | None:
    state = _get("/users/" + os.environ["JUPYTERHUB_USER"]).json().get("auth_state") or {}
    token: str | None = state.get("access_token")
    return token


def call_api(api_url: str, token: str | None = None) -> int:
    """The demo API's status for the Hub's access token (or ``token``)."""
    bearer = token if token is not None else _access_token()
    headers = {"Authorization": f"Bearer {bearer}"}
    return httpx.get(f"{api_url}/whoami", headers=headers, timeout=30).status_code


def wait_for_new_access_token(old: str, timeout: float = 20.0) -> dict[str, Any]:
    """Ask the Hub again until its access token is not the one with digest ``old`` (bounded);
    how many asks it took and the new token's digest, or ``None`` at the deadline."""
    deadline, asks = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        asks += 1
        new = fingerprint(_access_token())
        if new != old:
            return {"asks": asks, "access": new}
        time.sleep(0.2)  # the Hub refreshes at most once per auth_refresh_age (1 s here)
    return {"asks": asks, "access": None}


def environment() -> dict[str, Any]:
    """The Hub's variables in the kernel's environment (names only), and whether any
    variable holds one of the user's Okta tokens (from the Hub's auth_state)."""
    state = _get("/users/" + os.environ["JUPYTERHUB_USER"]).json().get("auth_state") or {}
    tokens = {str(state[k]) for k in ("access_token", "refresh_token", "id_token") if state.get(k)}
    leaks = sorted(k for k, v in os.environ.items() if any(t in v for t in tokens))
    hub = sorted(k for k in os.environ if k.startswith(("JUPYTERHUB_", "JPY_")))
    return {"hub_variables": hub, "holding_okta_tokens": leaks, "tokens_checked": len(tokens)}
