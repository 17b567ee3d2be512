"""The dev server's core: its authorization servers, apps, users, store and token minting.

The web layer (``_web.py``), the admin API and :class:`DevServer` all act through one
:class:`Authority`, so a control used from Python and the same control over HTTP are one code path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt

from ._assertions import SpentAssertions
from ._keys import KeyRing
from ._settings import AppSettings, ServerSettings, SettingsError, UserSettings
from ._state import (
    DEFAULT_IDLE,
    AccessRecord,
    Clock,
    Grant,
    OAuthFailure,
    RefreshRecord,
    Store,
    opaque,
)
from ._tokens import AuthServer, Minter

__all__ = ["Authority", "BearerFailure"]


class BearerFailure(Exception):
    """A resource request's bearer token is missing, invalid, or lacks a scope (RFC 6750)."""

    def __init__(self, status: int, error: str | None, description: str | None) -> None:
        super().__init__(description or "no bearer token")
        self.status = status
        self.error = error
        self.description = description


def _expired() -> BearerFailure:
    return BearerFailure(401, "invalid_token", "The access token has expired.")


class Authority:
    """Authorization servers ``org`` and ``default`` over one store."""

    def __init__(self, settings: ServerSettings, base_url: str, clock: Clock) -> None:
        self.settings = settings
        self.apps: dict[str, AppSettings] = dict(settings.apps)
        self.base_url = base_url
        self.store = Store(clock, settings.max_events, self._idle)
        self.minter = Minter(self.store)
        self.spent = SpentAssertions()  # client assertions' jti, until they expire
        org_keys = KeyRing()
        custom_keys = KeyRing()
        self.servers = {
            "org": AuthServer("org", base_url, base_url, org_keys, KeyRing()),
            "default": AuthServer(
                "default",
                f"{base_url}/oauth2/default",
                "api://default",
                custom_keys,
                custom_keys,
                settings.custom_scopes,
            ),
        }

    # -- lookups ---------------------------------------------------------------------------

    def _idle(self, app: str) -> float:
        """An app's refresh-token idle window now (the sweeper asks; apps change at run time)."""
        settings = self.apps.get(app)
        return float(settings.refresh_token_idle) if settings is not None else DEFAULT_IDLE

    def server(self, server_id: str) -> AuthServer | None:
        return self.servers.get(server_id)

    def app_by_client_id(self, client_id: str) -> AppSettings | None:
        return next((a for a in self.apps.values() if a.client_id == client_id), None)

    def app(self, name: str) -> AppSettings:
        try:
            return self.apps[name]
        except KeyError:
            raise SettingsError(
                f"no app named {name!r}; the dev server has: {', '.join(self.apps)}"
            ) from None

    def check_scopes(self, server: AuthServer, raw: str) -> tuple[str, ...]:
        scopes = tuple(dict.fromkeys(raw.split()))
        if not scopes or not set(scopes) <= set(server.scopes):
            raise OAuthFailure(
                400,
                "invalid_scope",
                "The requested scope is invalid, unknown, malformed, or exceeds the scope "
                "granted by the resource owner.",
            )
        return scopes

    def check_password(self, login: str, password: str) -> UserSettings | None:
        user = self.settings.users.get(login.strip())
        if user is None or user.password != password:
            return None
        return user

    # -- issuing ---------------------------------------------------------------------------

    def issue_login(
        self,
        server: AuthServer,
        app: AppSettings,
        login: str,
        scopes: tuple[str, ...],
        auth_time: int,
        nonce: str | None,
    ) -> tuple[dict[str, Any], Grant]:
        """Tokens for a completed user login; a refresh token only past all three gates."""
        user = self.settings.user(login)
        now = self.store.clock()
        ttl = app.refresh_token_ttl
        grant = Grant(
            id="oar" + opaque(12)[:17],
            server_id=server.id,
            app=app.name,
            client_id=app.client_id,
            user=user.login,
            scopes=scopes,
            auth_time=auth_time,
            expires_at=now + ttl if ttl else None,
        )
        refresh: str | None = None
        if "refresh_token" in app.grant_types and "offline_access" in scopes:
            refresh = opaque()
        with self.store.lock:
            self.store.grants[grant.id] = grant
            if refresh is not None:
                self.store.refresh[refresh] = RefreshRecord(refresh, grant.id, now)
        body, _ = self.minter.token_response(server, app, user, scopes, grant, refresh, nonce)
        return body, grant

    # -- checking tokens -------------------------------------------------------------------

    def access_record(self, server: AuthServer, token: str) -> tuple[AccessRecord, dict[str, Any]]:
        """Validate an access token as a resource server would; raise :class:`BearerFailure`."""
        invalid = BearerFailure(401, "invalid_token", "The access token is invalid.")
        try:
            claims = server.access_keys.decode(
                token,
                audience=server.audience,
                issuer=server.issuer,
                # Expiry is checked below against the server's clock, which may be shifted;
                # PyJWT's own exp/iat checks would use the wall clock.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "require": ["exp", "jti", "iat"],
                },
            )
        except jwt.PyJWTError:
            raise invalid from None
        with self.store.lock:
            record = self.store.access.get(str(claims["jti"]))
        if record is None and float(claims["exp"]) <= self.store.clock():
            raise _expired()  # pruned once it expired: its own claims still say so
        if record is None or record.revoked:
            raise invalid
        if record.exp <= self.store.clock():
            raise _expired()
        return record, claims

    def id_token_claims(self, server: AuthServer, token: str, verify_exp: bool) -> dict[str, Any]:
        """Verify an ID token's signature (and expiry if asked); raises ``jwt.PyJWTError``."""
        claims = server.keys.decode(
            token,
            issuer=server.issuer,
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
        )
        if verify_exp and float(claims.get("exp", 0)) <= self.store.clock():
            raise jwt.ExpiredSignatureError("expired")
        return claims

    def introspect(self, server: AuthServer, app: AppSettings, token: str) -> dict[str, Any]:
        inactive: dict[str, Any] = {"active": False}
        with self.store.lock:
            refresh = self.store.refresh.get(token)
            if refresh is not None:
                grant = self.store.grants[refresh.grant_id]
                return self._introspect_refresh(server, app, refresh, grant) or inactive
        try:
            record, claims = self.access_record(server, token)
        except BearerFailure:
            return inactive
        if record.client_id != app.client_id:
            return inactive
        fields = ("exp", "iat", "sub", "aud", "iss", "jti", "uid")
        result = {"active": True, "scope": " ".join(record.scopes), "client_id": app.client_id}
        result.update(token_type="Bearer", username=claims["sub"])
        result.update({name: claims[name] for name in fields if name in claims})
        return result

    def _introspect_refresh(
        self, server: AuthServer, app: AppSettings, record: RefreshRecord, grant: Grant
    ) -> dict[str, Any] | None:
        now = self.store.clock()
        dead = (
            grant.revoked
            or grant.server_id != server.id
            or grant.client_id != app.client_id
            or (grant.expires_at is not None and now >= grant.expires_at)
            or now - record.last_used >= app.refresh_token_idle
            or (record.rotated_at is not None and now > record.rotated_at + app.grace_period)
        )
        if dead:
            return None
        user = self.settings.user(grant.user) if grant.user else None
        expires = grant.expires_at or record.last_used + app.refresh_token_idle
        result: dict[str, Any] = {"active": True, "token_type": "Bearer"}
        result.update(scope=" ".join(grant.scopes), client_id=app.client_id)
        if user is not None:
            result.update(username=user.login, sub=user.login, uid=user.user_id)
        result.update(exp=int(expires), iat=grant.auth_time, iss=server.issuer)
        return result

    def revoke(self, server: AuthServer, app: AppSettings, token: str) -> None:
        """Revoke a refresh token (and its family's access tokens) or one access token."""
        with self.store.lock:
            refresh = self.store.refresh.get(token)
            if refresh is not None:
                grant = self.store.grants[refresh.grant_id]
                if grant.client_id == app.client_id and grant.server_id == server.id:
                    self.store.revoke_grant(grant.id)
                return
        try:
            record, _ = self.access_record(server, token)
        except BearerFailure:
            return
        if record.client_id == app.client_id:
            with self.store.lock:
                record.revoked = True

    # -- run-time changes ------------------------------------------------------------------

    def configure_app(self, name: str, **changes: Any) -> AppSettings:
        updated = self.app(name).with_changes(**changes)
        with self.store.lock:
            self.apps[name] = updated
        return updated

    def rotate_keys(self, server_id: str = "default") -> str:
        server = self.servers.get(server_id)
        if server is None:
            raise SettingsError(f"no authorization server {server_id!r}; use 'org' or 'default'")
        return server.keys.rotate()

    def public_apps(self) -> Mapping[str, dict[str, Any]]:
        """App settings without secrets or private keys, for listings."""
        hidden = ("client_secret", "private_key_pem")
        return {
            name: {k: v for k, v in vars(app).items() if k not in hidden}
            for name, app in self.apps.items()
        }
