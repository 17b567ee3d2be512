"""Helpers for the tutorial notebooks: the set-up cell, masked displays, the timeline plot.

The first cell of every notebook is::

    from okta_nb_auth.tutorial import setup
    tut = setup()

It uses a real Okta org when the ``OKTA_*`` variables are set, and otherwise starts the dev
server on 127.0.0.1. Later cells use ``tut.config(app)`` and ``tut.login(app)`` and do not care
which. Cells that need the dev server's controls (faults, clock, events) check ``tut.is_dev``.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import httpx

from .._config import OktaConfig
from .._exceptions import ConfigError
from .._models import TokenSet
from .._presenter import PRESENTER_ENV, mask_claim, masked
from .._protocol import refresh_request
from ..store import FileStore, TokenStore, resolve_store
from ._dask import fan_out_report, fetch, plot_fan_out
from ._hints import current_shell, install_hints
from ._kernel import Kernel, run_everywhere
from ._plot import plot_timeline

if TYPE_CHECKING:
    from ..devserver import DevServer

__all__ = [
    "Tutorial",
    "claims",
    "fan_out_report",
    "fetch",
    "masked",
    "plot_fan_out",
    "plot_timeline",
    "presenter_mode",
    "run_everywhere",
    "setup",
]

OKTA_VARIABLES = (
    "OKTA_DOMAIN",
    "OKTA_ISSUER",
    "OKTA_CLIENTID",
    "OKTA_CLIENT_ID",
    "OKTA_CLIENTSECRET",
    "OKTA_CLIENT_SECRET",
)
#: A TOML file for the dev server the set-up cell starts (tests pin secrets with it).
DEVSERVER_CONFIG_ENV = "OKTA_NB_AUTH_DEVSERVER_CONFIG"


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, decoded WITHOUT verification: for reading in a lesson only.

    Code that trusts claims must verify the token first (``TokenVerifier``,
    ``verify_access_token``). Never decode an org authorization server's access token to
    learn anything: Okta says its format may change at any time.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT: a JWT has three dot-separated parts")
    segment = parts[1] + "=" * (-len(parts[1]) % 4)  # base64url, padding restored (bug #10)
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment))
    return payload


class _MaskingStream:
    """A stdout/stderr wrapper that masks e-mail addresses, ``Name <e-mail>`` and user codes
    (presenter mode)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(masked(text, presenter=True))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def presenter_mode(on: bool = True) -> None:
    """Mask e-mail addresses, names and user codes in everything printed from now on (or
    stop), and in the login widgets and dev servers made after (``OKTA_NB_AUTH_PRESENTER``)."""
    if on:
        os.environ[PRESENTER_ENV] = "1"
    else:
        os.environ.pop(PRESENTER_ENV, None)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if on and not isinstance(stream, _MaskingStream):
            setattr(sys, name, _MaskingStream(stream))
        elif not on and isinstance(stream, _MaskingStream):
            setattr(sys, name, stream._stream)


@dataclass
class Tutorial:
    """What the set-up cell found: the dev server, or a real Okta org from ``OKTA_*``."""

    dev: DevServer | None = None
    okta_config: OktaConfig | None = None
    presenter: bool = False
    notes: list[str] = field(default_factory=list)
    #: The ``OKTA_*`` issuer is a dev server too (a classroom's shared one), not an Okta org.
    shared_dev: bool = False
    _store: TokenStore | None = field(default=None, repr=False)
    _store_dir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)
    _kernels: list[Kernel] = field(default_factory=list, repr=False)

    @property
    def store(self) -> TokenStore | None:
        """Where this tutorial's logins are kept: on the dev server, a file store of its own
        (deleted by :meth:`close`, so lessons never touch your real one); on real Okta, the
        default store (your login survives kernel restarts)."""
        if self._store is None and self.dev is not None:
            self._store_dir = tempfile.TemporaryDirectory(prefix="okta-nb-auth-tutorial-")
            self._store = FileStore(self._store_dir.name)
        elif self._store is None:
            self._store = resolve_store("default")
        return self._store

    def kernel(self, name: str, app: str = "native") -> Kernel:
        """Start another "kernel": a separate Python process with this tutorial's store,
        ``config`` (of ``app``), ``api`` (the demo API) and ``clock`` (the server's clock)."""
        store = self.store
        env = {"OKTA_ISSUER": self.issuer, "OKTA_CLIENT_ID": self.config(app).client_id}
        if isinstance(store, FileStore):
            env["OKTA_NB_AUTH_CACHE"] = str(store.root)
        if self.dev is not None:
            env["OKTA_NB_AUTH_TUTORIAL_API"] = self.dev.api_url
        if self.presenter:  # its login widgets mask too (the notebook masks what it prints)
            env[PRESENTER_ENV] = "1"
        kernel = Kernel(name, env, offset=lambda: self.dev.clock_offset if self.dev else 0.0)
        self._kernels.append(kernel)
        return kernel

    @property
    def is_dev(self) -> bool:
        return self.dev is not None

    @property
    def issuer(self) -> str:
        if self.dev is not None:
            return self.dev.issuer
        assert self.okta_config is not None
        return self.okta_config.issuer

    def config(self, app: str = "native", **overrides: Any) -> OktaConfig:
        """The :class:`OktaConfig` of ``app`` (real Okta: the app of the ``OKTA_*`` variables)."""
        if self.dev is not None:
            return self.dev.config(app, **overrides)
        assert self.okta_config is not None
        if overrides:
            return replace(self.okta_config, **overrides)
        return self.okta_config

    def login(
        self, app: str = "native", *, scopes: Any = None, user: str | None = None
    ) -> TokenSet:
        """Tokens of a completed login: instant on the dev server, the device flow on Okta."""
        if self.dev is not None:
            return self.dev.login_as(user or "ada@example.com", app=app, scopes=scopes)
        from .. import login

        config = self.config(app) if scopes is None else self.config(app, scopes=scopes)
        self.show("This cell waits until you sign in: open the link below and approve the code.")
        session = login(config, flow="device", store=None).wait()  # a fresh login each time
        tokens = session.tokens
        if tokens is None:  # pragma: no cover - a finished login always has tokens
            raise ConfigError("The login finished without tokens.")
        return tokens

    def clock(self) -> float:
        """Now, as the server sees it: the dev server's clock (which :meth:`wait` moves)."""
        return self.dev.now() if self.dev is not None else time.time()

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass: instantly on the dev server (its clock jumps), really on Okta.

        Pass ``clock=tut.clock`` to ``OktaAuth`` so the client sees the same jump.
        """
        if self.dev is not None:
            self.dev.advance_clock(seconds)
        else:
            time.sleep(seconds)

    def refresh_answer(
        self, config: OktaConfig, refresh_token: str, scope: str | None = None
    ) -> httpx.Response:
        """Okta's raw answer to one ``grant_type=refresh_token`` call made as ``config``'s
        client (its own client authentication, a form-encoded body), for lessons that show
        the JSON. ``scope``: space-separated, to scope down. Print fields, never the body.
        """
        discovery = httpx.get(config.issuer + "/.well-known/openid-configuration", timeout=10)
        endpoint = discovery.raise_for_status().json()["token_endpoint"]
        scopes = scope.split() if scope is not None else None
        with httpx.Client(timeout=10) as client:
            return client.send(refresh_request(config, endpoint, refresh_token, scopes))

    def needs_dev(self, what: str) -> bool:
        """True on the dev server; on real Okta, say why the cell does nothing and return False."""
        if self.dev is None:
            where = "a shared dev server" if self.shared_dev else "an Okta org"
            self.show(
                f"Skipped: this cell {what}, which only the tutorial's own dev server can do, "
                f"and OKTA_* points at {where}."
            )
        return self.dev is not None

    def show(self, value: object) -> None:
        """Print ``value`` with presenter-mode masking."""
        print(masked(str(value), self.presenter))

    def show_claims(self, token: str, keys: Iterable[str] | None = None) -> None:
        """Print a token's claims (decoded, not verified), one per line, masked for presenters
        (e-mail addresses, and the claims that name a person: ``name``, ``given_name``,
        ``family_name``, ``preferred_username``, ``email``).

        ``jti`` and ``at_hash`` are shortened: not secret, but token-shaped noise.
        """
        payload = claims(token)
        for key in keys if keys is not None else payload:
            if key in payload:
                value = payload[key]
                if key in ("jti", "at_hash") and isinstance(value, str):
                    value = value[:6] + "…"
                if self.presenter:
                    value = mask_claim(key, value)
                self.show(f"{key:>10}: {json.dumps(value, ensure_ascii=False)}")

    def finish(self) -> None:
        """The last cell: nothing stops, so every cell above can still be run again."""
        if self.dev is None:
            print("Done. Any cell above can run again.")
        else:
            print(
                "Done. The dev server stays up while this kernel runs, so any cell above can "
                "run again; Kernel > Shut Down Kernel stops it."
            )

    def close(self) -> None:
        """Stop the dev server and the extra kernels, delete the lesson's store (idempotent;
        also run when the kernel exits)."""
        for kernel in self._kernels:
            kernel.close()
        self._kernels.clear()
        if self.dev is not None:
            self.dev.stop()
        if self._store_dir is not None:
            self._store_dir.cleanup()

    def __repr__(self) -> str:
        where = "the dev server" if self.dev is not None else "a real Okta org"
        if self.shared_dev:
            where = "a shared dev server (from OKTA_*)"
        return f"<Tutorial on {where}: issuer {self.issuer}>"


class SetupError(ConfigError):
    """The set-up cell cannot continue; the message says what to fix."""


def _check_issuer(config: OktaConfig) -> bool:
    """Check the issuer answers; True when it is a (shared) okta-nb-auth dev server."""
    url = config.issuer + "/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=10)
    except httpx.HTTPError as exc:
        raise SetupError(
            f"Cannot reach {url} ({type(exc).__name__}). Check OKTA_DOMAIN / OKTA_ISSUER for "
            "a typo and your network."
        ) from None
    if response.status_code != 200:
        raise SetupError(
            f"{url} answered HTTP {response.status_code}. The issuer is probably mistyped: "
            "in the Okta Admin Console, Security > API > Authorization Servers shows the exact "
            "Issuer URI (for example https://dev-123456.okta.com/oauth2/default)."
        )
    return bool(response.headers.get("X-Okta-NB-Auth-Dev-Server") == "1")


def setup(
    environ: Mapping[str, str] | None = None,
    *,
    dev_only: str | None = None,
    presenter: bool | None = None,
    check: bool = True,
    **dev_options: Any,
) -> Tutorial:
    """Start the tutorial: real Okta when ``OKTA_*`` is set, else the dev server on loopback.

    A partial or wrong set of ``OKTA_*`` variables raises one :class:`ConfigError` whose
    message says what is missing or wrong. ``dev_only="reason"`` is for notebooks that show
    what only the dev server can (misconfigured apps, fast-forwarded time, injected faults):
    they start their own dev server even when ``OKTA_*`` is set, and say so.
    ``presenter=True`` (or ``OKTA_NB_AUTH_PRESENTER=1``) masks e-mail addresses, people's
    names and user codes in everything printed.

    In IPython it also registers one-line hints (once per kernel) for a refused connection to
    a stopped dev server and for a name a cell above has not defined yet (see
    :mod:`okta_nb_auth.tutorial._hints`).
    """
    shell = current_shell()
    if shell is not None:
        install_hints(shell)
    env = os.environ if environ is None else environ
    if presenter is None:
        presenter = env.get(PRESENTER_ENV) == "1"
    if presenter:
        presenter_mode(True)
    present = [name for name in OKTA_VARIABLES if env.get(name, "").strip()]
    if present and dev_only:
        print(
            f"This notebook {dev_only}, which only the dev server can do: it runs on its own "
            "dev server on 127.0.0.1 although OKTA_* is set."
        )
    if not present or dev_only:
        from ..devserver import DevServer

        dev_options.setdefault("config", env.get(DEVSERVER_CONFIG_ENV) or None)
        dev_options.setdefault("presenter", presenter)
        tutorial = Tutorial(dev=DevServer(port=0, **dev_options).start(), presenter=presenter)
        atexit.register(tutorial.close)  # the dev server lives as long as the kernel
        return tutorial
    try:
        config = OktaConfig.from_env(env)
    except ConfigError as exc:
        raise SetupError(
            f"Some OKTA_* variables are set ({', '.join(present)}), but not all: {exc} "
            "Unset them all to use the offline dev server instead."
        ) from None
    if check:
        shared_dev = _check_issuer(config)
    return Tutorial(okta_config=config, presenter=presenter, shared_dev=shared_dev)
