"""What a kernel on JupyterHub asks, sans I/O: where the token service is and what it said.

The kernel knows the Hub by its environment (``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN``,
``JUPYTERHUB_USER``: JupyterHub sets them in every single-user server). It finds this
package's token service through the Hub's REST API (``GET /services/{name}``: its ``url`` and
``prefix``, never a guessed URL) and asks it, with the server's own token, for the signed-in
user's Okta access token. Every problem becomes one typed error naming the Hub setting to change.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from .._exceptions import ConfigError, LoginRequired, ProtocolError, TransientError
from .._secret import Secret

__all__ = ["SERVICE", "HubAccess", "answer_token", "service_url"]

#: The token service's default name in ``c.JupyterHub.services`` (``$OKTA_NB_AUTH_HUB_SERVICE``).
SERVICE = "okta-tokens"
_VARS = ("JUPYTERHUB_API_URL", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_USER")
SCOPES_ADVICE = (
    "give the servers' role the scopes 'read:services!service={name}' and "
    "'access:services!service={name}' (c.JupyterHub.load_roles; see the README's JupyterHub "
    "section)"
)


@dataclass(frozen=True)
class HubAccess:
    """How this kernel reaches its Hub: the API URL, the server's token, the user, and the
    name of the token service."""

    api_url: str
    token: Secret
    user: str
    service: str = SERVICE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HubAccess | None:
        """The Hub this kernel runs under, or None when it runs under none."""
        env = os.environ if environ is None else environ
        if not all(env.get(name) for name in _VARS):
            return None
        api, token, user = (env[name] for name in _VARS)
        service = env.get("OKTA_NB_AUTH_HUB_SERVICE") or SERVICE
        return cls(api.rstrip("/"), Secret(token), user, service)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}", "Accept": "application/json"}

    def service_request(self) -> httpx.Request:
        return httpx.Request(
            "GET", f"{self.api_url}/services/{self.service}", headers=self.headers()
        )

    def __repr__(self) -> str:
        return f"HubAccess(api_url={self.api_url!r}, user={self.user!r}, service={self.service!r})"


def service_url(access: HubAccess, response: httpx.Response) -> str:
    """The token endpoint of the service, from the Hub's answer to :meth:`service_request`."""
    advice = SCOPES_ADVICE.format(name=access.service)
    if response.status_code == 404:
        raise ConfigError(
            f"This Hub has no service named {access.service!r}: an admin adds okta-nb-auth's "
            "token service to c.JupyterHub.services (see the README's JupyterHub section)."
        )
    if response.status_code == 403:
        raise ConfigError(f"This server may not look up the Hub's token service: {advice}.")
    model = _json(response, "the Hub's API")
    url, prefix = model.get("url"), model.get("prefix")
    if not isinstance(url, str) or not url or not isinstance(prefix, str):
        raise ConfigError(
            f"The Hub does not tell this server where its token service is: {advice}."
        )
    return f"{url.rstrip('/')}/{prefix.strip('/')}/token"


def _json(response: httpx.Response, what: str) -> dict[str, object]:
    if response.status_code >= 500:
        raise TransientError(f"{what} answered {response.status_code}; retry later.")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ProtocolError(f"{what} did not answer with a JSON object ({response.status_code}).")
    return body


def answer_token(access: HubAccess, response: httpx.Response) -> tuple[str, float]:
    """The access token and its remaining lifetime from the token service's answer."""
    body = _json(response, "The Hub's token service")
    message = str(body.get("message") or "")
    if response.status_code == 403:
        advice = SCOPES_ADVICE.format(name=access.service)
        raise ConfigError(f"The Hub's token service refused this server: {advice}. {message}")
    if response.status_code == 401 or body.get("error") == "login_required":
        raise LoginRequired(f"{message or 'The Hub has no Okta login for you.'}")
    if response.status_code != 200:
        raise ConfigError(message or f"The Hub's token service answered {response.status_code}.")
    token, expires_in = body.get("access_token"), body.get("expires_in")
    if not isinstance(token, str) or not isinstance(expires_in, (int, float)):
        raise ProtocolError("The Hub's token service answered without a token or its lifetime.")
    return token, float(expires_in)
