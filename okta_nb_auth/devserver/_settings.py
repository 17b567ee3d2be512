"""Apps, users and server settings of the dev server, with defaults that need no file.

A TOML file can change any of them::

    [server]
    rate_limit_per_minute = 600
    presenter = true              # mask e-mail addresses and user codes on the pages
    strict_auth_method = true     # only each app's own secret method (Basic or body), not both
    max_events = 10000            # the event log keeps the newest N events (oldest dropped)

    [users."ada@example.com"]
    password = "analytical-engine"
    name = "Ada Lovelace"

    [apps.native]
    access_token_ttl = 300        # seconds
    rotation = "ROTATE"           # or "STATIC"
    grace_period = 30             # 0-60 s
    require_pushed_authorization_requests = true   # /v1/authorize only through /v1/par
    jwks = '{"keys": [...]}'      # public keys for private_key_jwt (inline JSON, or a table)
"""

from __future__ import annotations

import hashlib
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ._app_checks import DEVICE_GRANT, SECRET_METHODS, app_problem, coerce
from ._client_keys import generate_key_pair, key_changes
from ._events import DEFAULT_MAX_EVENTS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "DEVICE_GRANT",
    "AppSettings",
    "ServerSettings",
    "SettingsError",
    "UserSettings",
    "default_settings",
    "load_settings",
]

LOOPBACK_REDIRECTS = ("http://127.0.0.1:8765/callback", "http://localhost:8765/callback")


class SettingsError(ValueError):
    """A dev-server setting is invalid; the message names the setting and the fix."""


def _okta_id(prefix: str, seed: str) -> str:
    """A stable, Okta-shaped 20-character ID (``0oa…`` apps, ``00u…`` users)."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    tail = "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 34, 2))
    return prefix + tail


@dataclass(frozen=True)
class UserSettings:
    """A test user. ``login`` is the e-mail address, as in a default Okta org."""

    login: str
    password: str
    name: str
    given_name: str = ""
    family_name: str = ""
    locale: str = "en_US"
    zoneinfo: str = "Europe/London"
    groups: tuple[str, ...] = ("Everyone",)

    @property
    def user_id(self) -> str:
        return _okta_id("00u", "user:" + self.login)


@dataclass(frozen=True, repr=False)
class AppSettings:
    """An Okta app integration (OIDC client), with Okta's defaults for its type.

    Its repr is one line of what a lesson changes (a cell ending in ``configure_app(...)``
    shows it); every field is an attribute.
    """

    name: str
    client_id: str
    application_type: str
    grant_types: tuple[str, ...]
    token_endpoint_auth_method: str
    client_secret: str | None = field(default=None, repr=False)
    redirect_uris: tuple[str, ...] = LOOPBACK_REDIRECTS
    post_logout_redirect_uris: tuple[str, ...] = ("http://127.0.0.1:8765/",)
    pkce_required: bool = False
    access_token_ttl: int = 3600
    id_token_ttl: int = 3600
    refresh_token_ttl: int = 0  # 0: unlimited, as Okta's default policy rule
    refresh_token_idle: int = 7 * 24 * 3600  # refreshTokenWindowMinutes = 10080
    rotation: str = "STATIC"
    grace_period: int = 30
    static_returns_refresh_token: bool = True
    device_code_ttl: int = 600
    device_interval: int = 5
    assigned_users: tuple[str, ...] | None = None  # None: every user is assigned
    default_scopes: tuple[str, ...] = ()  # client_credentials without a scope
    #: Refuse a secret sent by the other secret method (Basic header vs form body) with
    #: ``invalid_client``, as Okta's ``invalid_token_endpoint_auth_method``; by default the
    #: dev server accepts it, as Okta appears to, and notes it in the event log.
    strict_auth_method: bool = False
    #: RFC 9126 §6 client metadata: ``/v1/authorize`` refuses a request that was not pushed to
    #: ``/v1/par`` first (``invalid_request``). Okta documents no such app setting.
    require_pushed_authorization_requests: bool = False
    #: Okta's app ``jwks``: the public keys that verify its ``private_key_jwt`` assertions.
    jwks: Mapping[str, Any] | None = field(default=None, hash=False)
    #: The private half of a pair the dev server made for this app (an Okta app never holds
    #: one): for ``dev.config()`` and ``GET /admin/apps/NAME`` only; a masked ``Secret``.
    private_key_pem: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        problem = app_problem(self)
        if problem is not None:
            raise SettingsError(f"app {self.name!r}: {problem}")

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    def __repr__(self) -> str:
        grants = ", ".join(grant.rsplit(":", 1)[-1] for grant in self.grant_types)
        rotation = self.rotation + (
            f" (grace {self.grace_period} s)" if self.rotation == "ROTATE" else ""
        )
        method = self.token_endpoint_auth_method + (" (strict)" if self.strict_auth_method else "")
        par = "; PAR required" if self.require_pushed_authorization_requests else ""
        return (
            f"<App {self.name!r}: {self.application_type}, {method}; "
            f"grants {grants}; access tokens {self.access_token_ttl} s; refresh tokens {rotation}"
            f"{par}>"
        )

    def with_changes(self, **changes: Any) -> AppSettings:
        """A copy with ``changes`` applied; unknown names raise :class:`SettingsError`."""
        known = {f.name for f in fields(self)} - {"name", "private_key_pem"}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SettingsError(
                f"unknown app setting(s) {', '.join(unknown)} for app {self.name!r}; "
                f"known settings: {', '.join(sorted(known))}"
            )
        coerced = {k: coerce(k, v) for k, v in changes.items()}
        return replace(self, **coerced, **key_changes(self, coerced))


@dataclass(frozen=True)
class ServerSettings:
    """Everything the dev server is configured with."""

    apps: Mapping[str, AppSettings]
    users: Mapping[str, UserSettings]
    rate_limit_per_minute: int = 600
    custom_scopes: tuple[str, ...] = ("demo.read", "demo.write")
    max_body_bytes: int = 64 * 1024
    #: Presenter mode: the pages mask e-mail addresses and user codes (``[server] presenter``).
    presenter: bool = False
    #: Every app's ``strict_auth_method`` at once (``[server] strict_auth_method``).
    strict_auth_method: bool = False
    #: How many events the event log keeps; older ones are dropped (``[server] max_events``).
    max_events: int = DEFAULT_MAX_EVENTS

    def __post_init__(self) -> None:
        for name in ("presenter", "strict_auth_method"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"[server] {name} must be true or false")
        events = self.max_events
        if not isinstance(events, int) or isinstance(events, bool) or events < 1:
            raise SettingsError(
                f"[server] max_events must be a whole number of events, 1 or more, not {events!r}"
            )

    def user(self, login: str) -> UserSettings:
        try:
            return self.users[login]
        except KeyError:
            raise SettingsError(
                f"no user {login!r}; the dev server has: {', '.join(self.users)}"
            ) from None


def _secret() -> str:
    # A fresh secret per server start: nothing guessable, Okta's 40-character shape.
    return secrets.token_urlsafe(30)


def _default_apps() -> dict[str, AppSettings]:
    refresh, code = "refresh_token", "authorization_code"
    apps = [
        AppSettings(
            name="native",
            client_id=_okta_id("0oa", "app:native"),
            application_type="native",
            grant_types=(code, refresh, DEVICE_GRANT),
            token_endpoint_auth_method="none",
            pkce_required=True,
        ),
        AppSettings(
            name="web",
            client_id=_okta_id("0oa", "app:web"),
            application_type="web",
            grant_types=(code, refresh),
            token_endpoint_auth_method="client_secret_basic",
            client_secret=_secret(),
            redirect_uris=("http://localhost:3000/api/auth/callback/okta", *LOOPBACK_REDIRECTS),
        ),
        AppSettings(
            name="service",
            client_id=_okta_id("0oa", "app:service"),
            application_type="service",
            grant_types=("client_credentials",),
            token_endpoint_auth_method="client_secret_basic",
            client_secret=_secret(),
            redirect_uris=(),
        ),
        _jwt_service(),
        AppSettings(
            name="no-refresh",
            client_id=_okta_id("0oa", "app:no-refresh"),
            application_type="web",
            grant_types=(code,),
            token_endpoint_auth_method="client_secret_basic",
            client_secret=_secret(),
            redirect_uris=("http://localhost:3000/api/auth/callback/okta", *LOOPBACK_REDIRECTS),
        ),
    ]
    return {app.name: app for app in apps}


def _jwt_service() -> AppSettings:
    """``service-jwt``: client credentials with ``private_key_jwt`` (Okta's recommendation for
    service apps), with a key pair made at start."""
    jwks, pem = generate_key_pair()
    return AppSettings(
        "service-jwt", _okta_id("0oa", "app:service-jwt"), "service", ("client_credentials",),
        "private_key_jwt", redirect_uris=(), jwks=jwks, private_key_pem=pem,
    )  # fmt: skip


def _default_users() -> dict[str, UserSettings]:
    users = [
        UserSettings("ada@example.com", "analytical-engine", "Ada Lovelace", "Ada", "Lovelace"),
        UserSettings("grace@example.com", "cobol-1959", "Grace Hopper", "Grace", "Hopper"),
    ]
    return {user.login: user for user in users}


def default_settings() -> ServerSettings:
    """The defaults: apps native, web, service, service-jwt, no-refresh; users ada, grace."""
    return ServerSettings(apps=_default_apps(), users=_default_users())


def _app_from_table(name: str, table: Mapping[str, Any], base: AppSettings | None) -> AppSettings:
    if "private_key_pem" in table:
        raise SettingsError(
            f"app {name!r}: private_key_pem is not a setting; give jwks (the public keys), or "
            "no jwks and the dev server makes a key pair"
        )
    if base is not None:
        return base.with_changes(**table)
    required = {"application_type", "grant_types", "token_endpoint_auth_method"}
    missing = sorted(required - set(table))
    if missing:
        raise SettingsError(f"new app {name!r} needs: {', '.join(missing)}")
    values = {k: coerce(k, v) for k, v in table.items()}
    values.setdefault("client_id", _okta_id("0oa", "app:" + name))
    # Okta's defaults by app type (spec §2.1, §4.4, §7): PKCE for browser and native apps,
    # ROTATE (leeway 30 s) for SPAs, STATIC for the rest.
    if values["application_type"] in ("browser", "native"):
        values.setdefault("pkce_required", True)
    if values["application_type"] == "browser":
        values.setdefault("rotation", "ROTATE")
    if values["token_endpoint_auth_method"] in SECRET_METHODS:
        values.setdefault("client_secret", _secret())
    if values["token_endpoint_auth_method"] == "private_key_jwt" and "jwks" not in values:
        values["jwks"], values["private_key_pem"] = generate_key_pair()
    try:
        return AppSettings(name=name, **values)
    except TypeError as exc:
        raise SettingsError(f"app {name!r}: {exc}") from None


def settings_from_mapping(data: Mapping[str, Any]) -> ServerSettings:
    """Apply a parsed config (same shape as the TOML file) on top of the defaults."""
    base = default_settings()
    apps = dict(base.apps)
    for name, table in dict(data.get("apps", {})).items():
        apps[name] = _app_from_table(name, table, apps.get(name))
    users = dict(base.users)
    for login, table in dict(data.get("users", {})).items():
        try:
            users[login] = UserSettings(login=login, **_tupled(table))
        except TypeError as exc:
            raise SettingsError(f"user {login!r}: {exc}") from None
    server = dict(data.get("server", {}))
    try:
        return ServerSettings(apps=apps, users=users, **_tupled(server))
    except TypeError as exc:
        raise SettingsError(f"[server]: {exc}") from None


def _tupled(table: Mapping[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}


def load_settings(path: str | Path | None) -> ServerSettings:
    """Read a TOML config file (or return the defaults when ``path`` is None)."""
    if path is None:
        return default_settings()
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise SettingsError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
    return settings_from_mapping(data)
