"""Authorization servers and the tokens they mint, with Okta's claim sets (spec §3)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ._keys import KeyRing, b64url
from ._settings import AppSettings, UserSettings, _okta_id
from ._state import AccessRecord, Grant, Store, opaque

__all__ = ["OIDC_SCOPES", "AuthServer", "Minter"]

# Okta also has device_sso (Native SSO's device_secret), which the dev server does not issue.
OIDC_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")
ORG_ID = _okta_id("00o", "org:dev")


@dataclass
class AuthServer:
    """An authorization server: the org server (``id == "org"``) or a custom one."""

    id: str
    issuer: str
    audience: str
    keys: KeyRing  # published at /v1/keys, signs ID tokens (and custom-server access tokens)
    access_keys: KeyRing  # the org server signs access tokens with an unpublished key
    custom_scopes: tuple[str, ...] = ()

    @property
    def is_org(self) -> bool:
        return self.id == "org"

    @property
    def endpoint_base(self) -> str:
        return f"{self.issuer}/oauth2/v1" if self.is_org else f"{self.issuer}/v1"

    @property
    def scopes(self) -> tuple[str, ...]:
        """What ``/authorize`` and ``/device/authorize`` accept: OIDC scopes, ``groups`` on the
        org server (as on Okta), a custom server's own scopes."""
        return OIDC_SCOPES + (("groups",) if self.is_org else ()) + self.custom_scopes


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


def profile_claims(user: UserSettings, scopes: tuple[str, ...], full: bool) -> dict[str, Any]:
    """The user's claims for ``scopes``; ID tokens of a code flow carry only a few (spec §3.3)."""
    claims: dict[str, Any] = {}
    if "profile" in scopes:
        claims.update(name=user.name, preferred_username=user.login)
        if full:
            claims.update(
                nickname=user.given_name,
                given_name=user.given_name,
                family_name=user.family_name,
                locale=user.locale,
                zoneinfo=user.zoneinfo,
            )
    if "email" in scopes:
        claims["email"] = user.login
        if full:
            claims["email_verified"] = True
    if "groups" in scopes and full:
        claims["groups"] = list(user.groups)
    return claims


class Minter:
    """Mints access, ID and refresh tokens and records them in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def access_token(
        self,
        server: AuthServer,
        app: AppSettings,
        user: UserSettings | None,
        scopes: tuple[str, ...],
        grant: Grant | None,
    ) -> tuple[str, AccessRecord]:
        now = int(self.store.clock())
        jti = "AT." + opaque() + (f".{grant.id}" if grant else "")
        claims: dict[str, Any] = {
            "ver": 1,
            "jti": jti,
            "iss": server.issuer,
            "aud": server.audience,
            "iat": now,
            "exp": now + app.access_token_ttl,
            "cid": app.client_id,
        }
        if user is not None:
            claims["uid"] = user.user_id
        claims["scp"] = list(scopes)
        if user is not None and grant is not None:
            claims["auth_time"] = grant.auth_time
        claims["sub"] = user.login if user is not None else app.client_id
        record = AccessRecord(
            jti=jti,
            server_id=server.id,
            client_id=app.client_id,
            user=user.login if user else None,
            scopes=scopes,
            exp=claims["exp"],
            grant_id=grant.id if grant else None,
        )
        with self.store.lock:
            self.store.access[jti] = record
        return server.access_keys.sign(claims), record

    def id_token(
        self,
        server: AuthServer,
        app: AppSettings,
        user: UserSettings,
        grant: Grant,
        access_token: str,
        nonce: str | None,
    ) -> str:
        now = int(self.store.clock())
        claims: dict[str, Any] = {
            "sub": user.user_id,
            **profile_claims(user, grant.scopes, full=False),
            "ver": 1,
            "iss": server.issuer,
            "aud": app.client_id,
            "iat": now,
            "exp": now + app.id_token_ttl,
            "jti": "ID." + opaque(),
            "amr": ["pwd"],
            "idp": ORG_ID,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        claims["auth_time"] = grant.auth_time
        claims["at_hash"] = _at_hash(access_token)
        return server.keys.sign(claims)

    def token_response(
        self,
        server: AuthServer,
        app: AppSettings,
        user: UserSettings | None,
        scopes: tuple[str, ...],
        grant: Grant | None,
        refresh_token: str | None,
        nonce: str | None = None,
    ) -> tuple[dict[str, Any], AccessRecord]:
        """A token-endpoint success body in Okta's key order (spec §2.2)."""
        access, record = self.access_token(server, app, user, scopes, grant)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": app.access_token_ttl,
            "access_token": access,
            "scope": " ".join(scopes),
        }
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        if user is not None and grant is not None and "openid" in scopes:
            body["id_token"] = self.id_token(server, app, user, grant, access, nonce)
        return body, record
