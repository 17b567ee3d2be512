"""The ``jupyterhub_config.py`` of the end-to-end Hub: Okta login through the dev server.

``GenericOAuthenticator`` (OAuthenticator 17 has no issuer discovery) gets its three endpoints
from the dev server's discovery document, never from guessed paths; the dev server's ``web``
app (confidential, ``client_secret_basic``, refresh tokens) is the Hub's Okta app. Every port
is on 127.0.0.1; the database, cookie secret and users' homes are in the run's directory.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from okta_nb_auth.devserver import DevServer

__all__ = [
    "LANDING",
    "SERVER_CONFIG",
    "SERVER_SCOPES",
    "HubPorts",
    "HubSettings",
    "config_text",
    "discovery",
]

#: The ``server`` role's default scopes (JupyterHub 6: ``jupyterhub/roles.py``).
SERVER_SCOPES = ["users:activity!user", "access:servers!server"]
#: What lets a server's own token read its user's ``auth_state`` (and nothing else's).
AUTH_STATE_SCOPE = "admin:auth_state!user"
SCOPES = ["openid", "profile", "email", "offline_access"]
LANDING = "signed-in.txt"
#: The single-user server's extensions that a kernel does not need: off, so it starts sooner.
SERVER_CONFIG = {
    "ServerApp": {
        "jpserver_extensions": {
            name: False
            for name in ("jupyterlab", "jupyter_lsp", "jupyter_server_terminals", "notebook_shim")
        }
    }
}


@dataclass(frozen=True)
class HubPorts:
    proxy: int  # the Hub's public URL (configurable-http-proxy)
    proxy_api: int
    hub: int  # the Hub's own API, behind the proxy


@dataclass(frozen=True)
class HubSettings:
    """What a test may change: ``auth_state`` (``enable_auth_state``), ``user_scope`` and
    ``server_scope`` (``admin:auth_state!user`` on the ``user`` and ``server`` roles),
    ``refresh_age`` (``auth_refresh_age``), ``refresh_strict`` (``auth_refresh_strict``),
    ``extra_config`` (lines of Python, after the rest)."""

    auth_state: bool = True
    user_scope: bool = True
    server_scope: bool = True
    refresh_age: int = 1
    refresh_strict: bool = False
    #: Python appended to the config file (e.g. a ``refresh_user_hook`` under test).
    extra_config: str = ""


def discovery(dev: DevServer) -> dict[str, str]:
    """The custom authorization server's OpenID discovery document."""
    response = httpx.get(f"{dev.issuer}/.well-known/openid-configuration", timeout=10)
    response.raise_for_status()
    document: dict[str, str] = response.json()
    return document


def _roles(settings: HubSettings, service_token_scopes: list[str]) -> list[dict[str, object]]:
    user = [AUTH_STATE_SCOPE] if settings.user_scope else []
    server = [AUTH_STATE_SCOPE] if settings.server_scope else []
    return [
        # A user holds a scope for their server's token to get it (the token gets the subset
        # of the server role's scopes that its user holds: jupyterhub/user.py, spawn()).
        {"name": "user", "scopes": ["self", *user]},
        {"name": "server", "scopes": [*SERVER_SCOPES, *server]},
        {"name": "hub-harness", "scopes": service_token_scopes, "services": ["hub-harness"]},
    ]


def config_text(
    dev: DevServer, run: Path, ports: HubPorts, settings: HubSettings, chp: Path
) -> str:
    """The config file's text; the harness service's token is read from the environment."""
    meta, web = discovery(dev), dev.app("web")
    url = f"http://127.0.0.1:{ports.proxy}"
    service_scopes = ["admin:users", "admin:servers", "admin:server_state", "access:servers"]
    service_scopes.append("tokens")
    singleuser = Path(sys.executable).parent / "jupyterhub-singleuser"
    args = ["--allow-root"] if os.geteuid() == 0 else []
    values: dict[str, object] = {
        "JupyterHub.ip": "127.0.0.1",
        "JupyterHub.port": ports.proxy,
        "JupyterHub.hub_ip": "127.0.0.1",
        "JupyterHub.hub_port": ports.hub,
        "JupyterHub.db_url": f"sqlite:///{run / 'jupyterhub.sqlite'}",
        "JupyterHub.cookie_secret_file": str(run / "cookie_secret"),
        "JupyterHub.authenticator_class": "generic-oauth",
        "JupyterHub.spawner_class": "simple",
        "JupyterHub.load_roles": _roles(settings, service_scopes),
        "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{ports.proxy_api}",
        "ConfigurableHTTPProxy.command": [str(chp), "--ip", "127.0.0.1"],
        "ConfigurableHTTPProxy.pid_file": str(run / "proxy.pid"),
        "GenericOAuthenticator.client_id": web.client_id,
        "GenericOAuthenticator.client_secret": web.client_secret,
        "GenericOAuthenticator.basic_auth": True,  # the app's client_secret_basic
        "GenericOAuthenticator.authorize_url": meta["authorization_endpoint"],
        "GenericOAuthenticator.token_url": meta["token_endpoint"],
        "GenericOAuthenticator.userdata_url": meta["userinfo_endpoint"],
        "GenericOAuthenticator.oauth_callback_url": f"{url}/hub/oauth_callback",
        "GenericOAuthenticator.scope": SCOPES,
        "GenericOAuthenticator.enable_auth_state": settings.auth_state,
        "GenericOAuthenticator.allow_all": True,
        "GenericOAuthenticator.auto_login": True,
        "GenericOAuthenticator.auth_refresh_age": settings.refresh_age,
        "GenericOAuthenticator.auth_refresh_strict": settings.refresh_strict,
        "SimpleLocalProcessSpawner.home_dir_template": str(run / "home" / "{username}"),
        "Spawner.cmd": [str(singleuser)],
        "Spawner.args": args,
        # The browser lands on a small file of Ada's (a page, so the server signs the browser
        # in through the Hub's OAuth), not on all of JupyterLab.
        "Spawner.default_url": f"/files/{LANDING}",
        "Spawner.start_timeout": 60,
        "Spawner.http_timeout": 60,
        "Spawner.environment": {
            "OKTA_NB_AUTH_CACHE": str(run / "okta-cache"),
            "JUPYTER_CONFIG_DIR": str(run / "jupyter-config"),
        },
        "LocalProcessSpawner.interrupt_timeout": 0,  # SIGTERM at once: jupyter-server asks
        # "Shutdown this Jupyter server?" on SIGINT and waits 5 s for an answer
    }
    lines = ["c = get_config()  # noqa", 'c.JupyterHub.services = [{"name": "hub-harness",']
    lines.append('    "api_token": __import__("os").environ["HUB_HARNESS_TOKEN"]}]')
    # Hub user names from the e-mail's local part: ada@example.com signs in as "ada".
    lines.append(
        'c.GenericOAuthenticator.username_claim = lambda info: info["email"].split("@")[0]'
    )
    lines += [f"c.{name} = {value!r}" for name, value in values.items()]
    return "\n".join([*lines, settings.extra_config]) + "\n"
