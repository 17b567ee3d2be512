"""okta-nb-auth's JupyterHub service: each signed-in user borrows their own Okta access token.

An admin runs it as a Hub-managed service (``python -m okta_nb_auth.hub``; see the README's
JupyterHub section). ``GET {prefix}token`` with a user's server token (``Authorization: token
...``, as kernels send it) answers that user's access token and how long it lasts, never the
refresh token or the ID token. Before reading ``auth_state`` it makes one Hub API request with
the caller's own token, so the Hub refreshes the user's tokens when they are due
(``auth_refresh_age``; OAuthenticator's ``refresh_user``).
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from jupyterhub.services.auth import HubAuth  # type: ignore[import-untyped]
from tornado import ioloop, web

from ._answer import token_answer

__all__ = ["TokenHandler", "main"]


class TokenHandler(web.RequestHandler):
    """``GET {prefix}token``: the caller's own Okta access token."""

    def initialize(self, hub_auth: Any, http: httpx.AsyncClient) -> None:
        self.hub_auth, self.http = hub_auth, http

    def _caller_token(self) -> str | None:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        return token if scheme.lower() == "token" and token else None

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.finish(body)

    async def get(self) -> None:
        token = self._caller_token()
        model = await self.hub_auth.user_for_token(token, sync=False) if token else None
        if not model or model.get("kind") != "user":
            return self._answer(
                401,
                {
                    "error": "unauthorized",
                    "message": "Send your server's "
                    "JupyterHub token: Authorization: token $JUPYTERHUB_API_TOKEN",
                },
            )
        if not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            return self._answer(
                403, {"error": "forbidden", "message": "This token may not use the service."}
            )
        api, name = self.hub_auth.api_url, model["name"]
        # The Hub refreshes a user's tokens on that user's own requests, when they are due.
        await self.http.get(f"{api}/user", headers={"Authorization": f"token {token}"})
        mine = {"Authorization": f"token {self.hub_auth.api_token}"}
        user = (await self.http.get(f"{api}/users/{name}", headers=mine)).json()
        self._answer(*token_answer(user.get("auth_state"), time.time()))


def main() -> None:
    """Serve on ``$JUPYTERHUB_SERVICE_URL`` under ``$JUPYTERHUB_SERVICE_PREFIX``."""
    name = os.environ["JUPYTERHUB_SERVICE_NAME"]
    hub_auth = HubAuth(access_scopes={f"access:services!service={name}"})
    http = httpx.AsyncClient(timeout=30)
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"].rstrip("/")
    app = web.Application([(f"{prefix}/token", TokenHandler, {"hub_auth": hub_auth, "http": http})])
    where = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
    app.listen(where.port or 80, where.hostname or "127.0.0.1")
    ioloop.IOLoop.current().start()
