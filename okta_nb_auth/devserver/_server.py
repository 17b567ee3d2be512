""":class:`DevServer`: the dev server in a background thread, for notebooks and tests."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

from .._presenter import presenter_on
from .._verify import forget_issuer
from ._app import build_app, quiet_dropped_connections
from ._authority import Authority
from ._client_keys import config_values
from ._controls import Controls
from ._server_controls import DevServerControls
from ._settings import (
    AppSettings,
    ServerSettings,
    load_settings,
    settings_from_mapping,
)
from ._state import Clock
from ._uvicorn_options import WakeableServer, uvicorn_options

if TYPE_CHECKING:
    from .._config import OktaConfig
    from ._tls import LocalTLS

__all__ = ["DevServer", "DevServerError"]


class DevServerError(RuntimeError):
    """The dev server could not start (for example: the port is in use)."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind a listening socket, or raise :class:`DevServerError` with a one-line reason."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it keep-alive requests wait ~40 ms (Nagle plus
    # delayed ACK), because uvicorn does not set it on sockets it is handed.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48):  # EADDRINUSE on Linux, macOS
            raise DevServerError(
                f"port {port} on {host} is already in use: stop the other server, choose "
                "another port with --port N, or use --port 0 for a free one"
            ) from None
        raise DevServerError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    return sock


def _check_tls(tls: bool, ca_dir: object, public_url: str | None) -> None:
    if ca_dir is not None and not tls:
        raise DevServerError("ca_dir (--ca-dir) only applies with tls=True (--tls)")
    if tls and public_url and not public_url.startswith("https://"):
        raise DevServerError(f"with TLS the public URL must start with https://, not {public_url}")


class DevServer(DevServerControls):
    """An Okta-compatible authorization server on loopback, run in a background thread.

    >>> with DevServer(port=0) as dev:        # doctest: +SKIP
    ...     config = dev.config("native")

    ``config`` is a TOML path or a mapping of the same shape (see ``_settings``).
    ``auto_approve`` approves every device code as that user, for unattended notebook runs.
    ``presenter=True`` (CLI: ``--presenter``; default: ``OKTA_NB_AUTH_PRESENTER=1`` or the
    config's ``[server] presenter``) masks e-mail addresses and user codes on the pages a
    person sees (sign-in, /activate and its confirmation, the index); the forms still work.
    ``tls=True`` (CLI: ``--tls``) serves https with a certificate from a CA made at start (see
    :attr:`ca_bundle`); ``ca_dir`` is where its CA bundle goes (default: a private temporary
    directory), removed at stop. ``max_events`` (CLI: ``--max-events``; config: ``[server]
    max_events``; default 10,000) bounds the event log: the oldest events are dropped first.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        config: str | Path | Mapping[str, Any] | None = None,
        auto_approve: str | None = None,
        allow_remote: bool = False,
        public_url: str | None = None,
        clock_offset: float = 0.0,
        presenter: bool | None = None,
        tls: bool = False,
        ca_dir: str | Path | None = None,
        max_events: int | None = None,
    ) -> None:
        if not _is_loopback(host):
            if not allow_remote:
                raise DevServerError(
                    f"refusing to listen on {host}: the dev server binds to 127.0.0.1 unless "
                    "you pass allow_remote=True (CLI: --allow-remote)"
                )
            warnings.warn(
                f"the dev server listens on {host}: anyone on that network can reach it; "
                "its users and passwords are public test values",
                stacklevel=2,
            )
        self.host = host
        self.port = port
        settings = (
            settings_from_mapping(config) if isinstance(config, Mapping) else load_settings(config)
        )
        on = presenter_on(presenter) or (presenter is None and settings.presenter)
        events = settings.max_events if max_events is None else max_events
        self._settings: ServerSettings = replace(settings, presenter=on, max_events=events)
        self._auto_approve = auto_approve
        self._public_url = public_url.rstrip("/") if public_url else None
        _check_tls(tls, ca_dir, self._public_url)
        self._tls_on, self._ca_dir = tls, ca_dir
        self._tls: LocalTLS | None = None
        self._clock = Clock(clock_offset)
        self._authority: Authority | None = None
        self._controls: Controls | None = None
        self._server: WakeableServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> DevServer:
        if self._thread is not None:
            return self
        self._tls = self._make_tls()
        try:
            sock = bind_socket(self.host, self.port)
        except DevServerError:
            self._drop_tls()
            raise
        self.port = sock.getsockname()[1]
        self._make_authority()
        self._server = WakeableServer(self._uvicorn_config())
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="okta-devserver", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise DevServerError("the dev server did not start; see the log above")
            time.sleep(0.01)
        return self

    def _make_tls(self) -> LocalTLS | None:
        if not self._tls_on:
            return None
        from ._tls import LocalTLS  # loaded (with trustme) only when TLS is asked for

        return LocalTLS.for_server(self.host, self._public_url, self._ca_dir)

    def _drop_tls(self) -> None:
        if self._tls is not None:
            self._tls.remove()
        self._tls = None

    def _make_authority(self) -> None:
        shown_host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self._tls_on else "http"
        base = self._public_url or f"{scheme}://{shown_host}:{self.port}"
        self._authority = Authority(self._settings, base, self._clock)
        self._controls = Controls(self._authority)
        for server in self._authority.servers.values():
            forget_issuer(server.issuer)  # new keys at a URL an earlier server may have used
        if self._auto_approve:
            self._controls.set_auto_approve(self._auto_approve)

    def _uvicorn_config(self) -> uvicorn.Config:
        quiet_dropped_connections()
        app = build_app(self.authority, self.controls, port=self.port, tls=self._tls is not None)
        if self._tls is None:
            return uvicorn.Config(app, **uvicorn_options())
        return self._tls.uvicorn_config(app, **uvicorn_options())

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.wake()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None
        self._server = None
        self._drop_tls()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __repr__(self) -> str:
        state = f"running at {self.base_url}" if self.running else "stopped"
        return f"<DevServer {state}>"

    # -- addresses -------------------------------------------------------------------------

    @property
    def authority(self) -> Authority:
        if self._authority is None:
            raise DevServerError("the dev server is not started: call start() or use 'with'")
        return self._authority

    @property
    def controls(self) -> Controls:
        self.authority  # noqa: B018 - raises when not started
        assert self._controls is not None
        return self._controls

    @property
    def base_url(self) -> str:
        """The server's root; also the org authorization server's issuer."""
        return self.authority.base_url

    @property
    def issuer(self) -> str:
        """The ``default`` custom authorization server's issuer (audience ``api://default``)."""
        return self.authority.servers["default"].issuer

    @property
    def org_issuer(self) -> str:
        return self.authority.servers["org"].issuer

    @property
    def ca_bundle(self) -> str | None:
        """With ``tls=True``: the path of this run's CA bundle (PEM), which clients trust
        (``OktaConfig(ca_bundle=...)``, ``SSL_CERT_FILE``, ``verify=``); else None."""
        if not self._tls_on:
            return None
        if self._tls is None:
            raise DevServerError("the CA bundle exists while the server runs: call start() first")
        return self._tls.ca_bundle

    @property
    def api_url(self) -> str:
        """The protected demo API: ``/whoami``, ``/measurements``, ``/reports`` (demo.read)."""
        return f"{self.base_url}/api"

    # -- apps and users --------------------------------------------------------------------

    def app(self, name: str) -> AppSettings:
        return self.authority.app(name)

    @property
    def apps(self) -> dict[str, AppSettings]:
        return dict(self.authority.apps)

    @property
    def presenter(self) -> bool:
        """Presenter mode: the pages mask e-mail addresses and user codes."""
        return self._settings.presenter

    @property
    def users(self) -> list[str]:
        return list(self._settings.users)

    def password(self, user: str) -> str:
        """The test user's password (public test values; see the README)."""
        return self._settings.user(user).password

    def config(
        self, app: str = "native", *, org: bool = False, scopes: Any = None, **overrides: Any
    ) -> OktaConfig:
        """A ready :class:`OktaConfig` for one of this server's apps (for a ``private_key_jwt``
        app the server made a key pair for: ``private_key`` and ``key_id``)."""
        from .._config import DEFAULT_SCOPES, OktaConfig

        settings = self.app(app)
        chosen = tuple(scopes.split() if isinstance(scopes, str) else scopes or DEFAULT_SCOPES)
        if "client_credentials" in settings.grant_types and scopes is None:
            chosen = self._settings.custom_scopes
        values: dict[str, Any] = {
            "issuer": self.org_issuer if org else self.issuer,
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "scopes": chosen,
            "redirect_uri": settings.redirect_uris[0] if settings.redirect_uris else None,
            "token_endpoint_auth_method": settings.token_endpoint_auth_method,
            "ca_bundle": self.ca_bundle,
            **config_values(settings),  # a private_key_jwt app: its generated key, no secret
        }
        values.update(overrides)
        return OktaConfig(**values)

    # -- teaching and testing controls -----------------------------------------------------
