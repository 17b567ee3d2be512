"""A real JupyterHub signed in to through the dev server, for end-to-end tests (issue 14).

:func:`running_hub` starts, on 127.0.0.1 only and in a temporary directory: JupyterHub (PyPI
``jupyterhub``) with ``configurable-http-proxy`` (npm, installed by ``make test`` under
``.venv/chp``), ``GenericOAuthenticator`` pointed at the dev server (``hub_config``), and a
``SimpleLocalProcessSpawner`` whose single-user server is this venv's
``jupyterhub-singleuser``. :func:`sign_in` has headless Chromium (Debian's, through
Playwright) sign in to the Hub on the dev server's sign-in page as Ada, which spawns her
server. :class:`Hub` gives a test the URLs, an admin client (the ``hub-harness`` service's
token) and :meth:`Hub.kernel`, a kernel of Ada's server. At the end the Hub stops its proxy
and servers; the harness checks that they are gone (and kills what is not).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from flow_helpers import free_port
from hub_config import LANDING, SERVER_CONFIG, HubPorts, HubSettings, config_text
from hub_kernel import HubKernel
from playwright.sync_api import sync_playwright

from okta_nb_auth.devserver import DevServer

__all__ = ["CHP", "Hub", "HubSettings", "running_hub", "sign_in", "signed_in_hub"]

#: ``make test`` installs it in the venv (the Makefile's CHP).
CHP = Path(sys.prefix) / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # as tests/test_e2e_jupyterlab.py
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USER, LOGIN = "ada", "ada@example.com"
START_TIMEOUT = 60.0


@dataclass
class Hub:
    """A running Hub: ``url`` (the proxy's), ``api_url``, Ada's ``server_url``, the dev server."""

    dev: DevServer
    url: str
    run_dir: Path
    service_token: str = field(repr=False)
    pids: set[int] = field(default_factory=set)  # the proxy's and the servers': gone at stop

    @property
    def api_url(self) -> str:
        return f"{self.url}/hub/api"

    @property
    def server_url(self) -> str:
        return f"{self.url}/user/{USER}/"

    def admin(self) -> httpx.Client:
        """A client of the Hub's API with the harness service's (admin) token."""
        headers = {"Authorization": f"token {self.service_token}"}
        return httpx.Client(base_url=self.api_url + "/", headers=headers, timeout=30)

    def user_model(self) -> dict[str, Any]:
        with self.admin() as api:
            response = api.get(f"users/{USER}")
        response.raise_for_status()
        model: dict[str, Any] = response.json()
        return model

    def kernel(self) -> HubKernel:
        """A new kernel of Ada's server (close it, or use it in a ``with``); its process is
        among those that must be gone when the Hub has stopped."""
        kernel = HubKernel(self.server_url, self.service_token)
        self.pids.add(int(kernel.run("import os; print(os.getpid())")))
        return kernel

    def log(self) -> str:
        return (self.run_dir / "hub.log").read_text(errors="replace")


def _wait_up(hub: Hub, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:  # bounded poll of the Hub's public API
        assert proc.poll() is None, f"the Hub exited:\n{hub.log()}"
        try:
            if httpx.get(f"{hub.api_url}/", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the Hub did not start:\n{hub.log()}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _status(pid)


def _status(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}") / "status").read_text().lower()
    except OSError:
        return ""


def _reap(pids: set[int]) -> list[int]:
    """Wait (bounded) for ``pids`` to end; kill and return those that did not."""
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in pids if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def _stop(proc: subprocess.Popen[bytes], hub: Hub) -> None:
    proxy = hub.run_dir / "proxy.pid"
    if proxy.exists():
        hub.pids.add(int(proxy.read_text().strip()))
    proc.terminate()  # the Hub stops its servers and its proxy (cleanup_servers, cleanup_proxy)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    left = _reap(hub.pids)
    assert not left, f"still running after the Hub stopped: {left}\n{hub.log()}"


def _hub_env(token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "OKTA"))}
    env.update(
        JUPYTERHUB_CRYPT_KEY=secrets.token_hex(32),  # enable_auth_state encrypts with it
        HUB_HARNESS_TOKEN=token,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def _prepare(run_dir: Path) -> None:
    """Ada's home with the page her browser lands on; the single-user server's config."""
    home = run_dir / "home" / USER
    home.mkdir(parents=True)
    (home / LANDING).write_text("Signed in.\n")
    config = run_dir / "jupyter-config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))


@contextmanager
def running_hub(
    run_dir: Path, dev: DevServer, settings: HubSettings | None = None
) -> Iterator[Hub]:
    """A Hub whose login is the dev server's ``web`` app; no one signed in yet."""
    assert CHP.exists(), "make test installs configurable-http-proxy under .venv/chp"
    ports = HubPorts(free_port(), free_port(), free_port(), free_port())
    hub = Hub(dev, f"http://127.0.0.1:{ports.proxy}", run_dir, secrets.token_hex(32))
    callback = f"{hub.url}/hub/oauth_callback"
    dev.configure_app("web", redirect_uris=(callback, *dev.app("web").redirect_uris))
    _prepare(run_dir)
    config = run_dir / "jupyterhub_config.py"
    config.write_text(config_text(dev, run_dir, ports, settings or HubSettings(), CHP))
    command = [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)]
    with (run_dir / "hub.log").open("w") as log:
        proc = subprocess.Popen(
            command, cwd=run_dir, env=_hub_env(hub.service_token), stdout=log, stderr=log
        )
        try:
            _wait_up(hub, proc)
            yield hub
        finally:
            _stop(proc, hub)


def _wait_ready(hub: Hub) -> None:
    """Until Ada's server is ready (a bounded poll); keeps its pid for the check at stop."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        server = hub.user_model().get("servers", {}).get("")
        if server and server["ready"]:
            hub.pids.add(int(server["state"]["pid"]))
            return
        time.sleep(0.1)
    raise AssertionError(f"Ada's server did not start:\n{hub.log()}")


def sign_in(hub: Hub) -> None:
    """Chromium opens the Hub, signs in as Ada on the dev server's page, reaches her server."""
    assert Path(CHROMIUM).exists(), "make test installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{hub.url}/hub/login")  # auto_login: straight on to the dev server
            page.wait_for_url(f"{hub.dev.issuer}/**", timeout=30_000)
            page.fill("#username", LOGIN)
            page.fill("#password", hub.dev.password(LOGIN))
            page.click("#signin")
            landing = f"{hub.server_url}files/{LANDING}"
            page.wait_for_url(landing, timeout=int(START_TIMEOUT * 1000))
            assert "Signed in." in page.content()
        finally:
            browser.close()
    _wait_ready(hub)


@contextmanager
def signed_in_hub(
    run_dir: Path, dev: DevServer, settings: HubSettings | None = None
) -> Iterator[Hub]:
    """:func:`running_hub` with Ada signed in through Chromium and her server running."""
    with running_hub(run_dir, dev, settings) as hub:
        sign_in(hub)
        yield hub
