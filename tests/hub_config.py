"""The ``jupyterhub_config.py`` of the end-to-end Hub: the package's example, as shipped.

It loads ``okta_nb_auth/hub/jupyterhub_config.py`` (Okta by the issuer's discovery document,
``offline_access``, ``enable_auth_state``, okta-nb-auth's token service and its narrow roles)
with the dev server's ``web`` app in the environment variables it documents, then changes only
what a test Hub needs: every port on 127.0.0.1, the database and cookie secret in the run's
directory, a local-process spawner, user names from e-mails, a 1 s ``auth_refresh_age``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

import okta_nb_auth.hub
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
#: The config a Hub admin uses (shipped in the package), loaded first by the test Hub.
EXAMPLE = Path(okta_nb_auth.hub.__file__).parent / "jupyterhub_config.py"
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
    service: int  # okta-nb-auth's token service


@dataclass(frozen=True)
class HubSettings:
    """What a test may change: ``auth_state`` (``enable_auth_state``), ``user_scope`` and
    ``server_scope`` (``admin:auth_state!user`` on the ``user`` and ``server`` roles),
    ``refresh_age`` (``auth_refresh_age``), ``refresh_strict`` (``auth_refresh_strict``),
    ``extra_config`` (lines of Python, after the rest)."""

    auth_state: bool = True
    user_scope: bool = False  # the example gives servers no admin:auth_state: never needed
    server_scope: bool = False
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


def _extra_scopes(settings: HubSettings) -> list[str]:
    roles = []
    if settings.user_scope:
        roles.append(
            f"[r for r in c.JupyterHub.load_roles if r['name'] == 'user'][0]"
            f"['scopes'].append({AUTH_STATE_SCOPE!r})"
        )
    if settings.server_scope:
        roles.append(
            f"[r for r in c.JupyterHub.load_roles if r['name'] == 'server'][0]"
            f"['scopes'].append({AUTH_STATE_SCOPE!r})"
        )
    return roles


def config_text(
    dev: DevServer, run: Path, ports: HubPorts, settings: HubSettings, chp: Path
) -> str:
    """The config file: the package's example ``jupyterhub_config.py`` (what a Hub admin
    uses, tested here as shipped), its settings from the environment it documents, then only
    what a test Hub must change: ports and files in the run's directory, the spawner, user
    names from e-mails, a short ``auth_refresh_age``, the harness's own admin service."""
    web = dev.app("web")
    url = f"http://127.0.0.1:{ports.proxy}"
    okta = {
        "OKTA_ISSUER": dev.issuer,
        "OKTA_CLIENT_ID": web.client_id,
        "OKTA_CLIENT_SECRET": web.client_secret,
        "OKTA_HUB_URL": url,
    }
    service_scopes = ["admin:users", "admin:servers", "admin:server_state", "access:servers"]
    service_scopes += ["tokens", "admin:auth_state"]
    singleuser = Path(sys.executable).parent / "jupyterhub-singleuser"
    args = ["--allow-root"] if os.geteuid() == 0 else []
    values: dict[str, object] = {
        "JupyterHub.ip": "127.0.0.1",
        "JupyterHub.port": ports.proxy,
        "JupyterHub.hub_ip": "127.0.0.1",
        "JupyterHub.hub_port": ports.hub,
        "JupyterHub.db_url": f"sqlite:///{run / 'jupyterhub.sqlite'}",
        "JupyterHub.cookie_secret_file": str(run / "cookie_secret"),
        "JupyterHub.spawner_class": "simple",
        "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{ports.proxy_api}",
        "ConfigurableHTTPProxy.command": [str(chp), "--ip", "127.0.0.1"],
        "ConfigurableHTTPProxy.pid_file": str(run / "proxy.pid"),
        "GenericOAuthenticator.enable_auth_state": settings.auth_state,
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
    lines = ["import os", "c = get_config()  # noqa", f"os.environ.update({okta!r})"]
    lines.append(f"load_subconfig({str(EXAMPLE)!r})  # noqa")
    lines += [f"c.{name} = {value!r}" for name, value in values.items()]
    lines.append(f"c.JupyterHub.services[0]['url'] = 'http://127.0.0.1:{ports.service}'")
    lines.append('c.JupyterHub.services.append({"name": "hub-harness",')
    lines.append('    "api_token": os.environ["HUB_HARNESS_TOKEN"]})')
    lines.append(
        "c.JupyterHub.load_roles.append({'name': 'hub-harness', "
        f"'scopes': {service_scopes!r}, 'services': ['hub-harness']}})"
    )
    lines += _extra_scopes(settings)
    # Hub user names from the e-mail's local part: ada@example.com signs in as "ada".
    lines.append(
        'c.GenericOAuthenticator.username_claim = lambda info: info["email"].split("@")[0]'
    )
    return "\n".join([*lines, settings.extra_config]) + "\n"
