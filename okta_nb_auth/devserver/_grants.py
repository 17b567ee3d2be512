"""The token endpoint's grants and Okta's refresh-token rules (spec §2.2, §2.4, §4).

Every method takes already-parsed form fields and either returns a JSON body or raises
:class:`OAuthFailure` with Okta's exact error text. ``ctx`` collects what the event log shows.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from ._app_checks import DEVICE_GRANT, GRANT_TYPES
from ._authority import Authority
from ._settings import AppSettings
from ._state import DeviceRecord, Grant, OAuthFailure, RefreshRecord, opaque
from ._tokens import AuthServer

__all__ = ["TokenEndpoint"]

RT_INVALID = "The refresh token is invalid or expired."
CODE_INVALID = "The authorization code is invalid or has expired."
DEVICE_INVALID = "The device code is invalid or has expired."
INVALID_SCOPE = (
    "The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the "
    "resource owner."
)


def _bad_request(error: str, description: str) -> OAuthFailure:
    return OAuthFailure(400, error, description)


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise _bad_request("invalid_request", f"The required parameter '{name}' is missing.")
    return value


def _listing(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class TokenEndpoint:
    """``/v1/token`` and ``/v1/device/authorize`` of every authorization server."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority
        self.store = authority.store

    # -- /v1/token -------------------------------------------------------------------------

    def token(
        self, server: AuthServer, app: AppSettings, form: Mapping[str, str], ctx: dict[str, Any]
    ) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        ctx["grant_type"] = grant_type
        if not grant_type:
            raise _bad_request(
                "invalid_request",
                "The token request must specify a 'grant_type'. "
                f"Valid values: [{_listing(GRANT_TYPES)}]",
            )
        if grant_type not in GRANT_TYPES:
            raise _bad_request(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server. "
                f"Configured grant types: [{_listing(GRANT_TYPES)}].",
            )
        if grant_type == "client_credentials" and server.is_org:
            raise _bad_request(
                "unsupported_grant_type",
                "'client_credentials' grant type can only be used with a custom "
                "authorization server.",
            )
        if grant_type not in app.grant_types:
            raise _bad_request(
                "unauthorized_client",
                "The client is not authorized to use the provided grant type. "
                f"Configured grant types: [{_listing(app.grant_types)}].",
            )
        handler = {
            "authorization_code": self._authorization_code,
            "refresh_token": self._refresh_token,
            "client_credentials": self._client_credentials,
            DEVICE_GRANT: self._device_code,
        }[grant_type]
        return handler(server, app, form, ctx)

    def _authorization_code(
        self, server: AuthServer, app: AppSettings, form: Mapping[str, str], ctx: dict[str, Any]
    ) -> dict[str, Any]:
        code = _required(form, "code")
        redirect_uri = _required(form, "redirect_uri")
        verifier = form.get("code_verifier")
        with self.store.lock:
            record = self.store.codes.get(code)
            if record is None or record.server_id != server.id:
                raise _bad_request("invalid_grant", CODE_INVALID)
            ctx["user"] = record.user
            if record.used:
                # Okta revokes what a replayed code issued (RFC 6749 §4.1.2).
                for grant_id in record.issued:
                    self.store.revoke_grant(grant_id)
                ctx["detail"] = "code_replay_revoked"
                raise _bad_request("invalid_grant", CODE_INVALID)
            if record.expires_at < self.store.clock():
                raise _bad_request("invalid_grant", CODE_INVALID)
            if record.app != app.name:
                raise _bad_request(
                    "invalid_grant",
                    "The grant was issued to another client. Please make sure the 'client_id' "
                    "matches the one used at the authorize request.",
                )
            if redirect_uri != record.redirect_uri:
                raise _bad_request(
                    "invalid_grant",
                    "The 'redirect_uri' does not match the redirection URI used in the "
                    "authorization request.",
                )
            self._check_pkce(record.challenge, verifier)
            record.used = True
        body, grant = self.authority.issue_login(
            server, app, record.user, record.scopes, record.auth_time, record.nonce
        )
        record.issued.append(grant.id)
        ctx["expires_at"] = self.store.clock() + app.access_token_ttl
        return body

    @staticmethod
    def _check_pkce(challenge: str | None, verifier: str | None) -> None:
        if challenge is None:
            if verifier is not None:
                raise _bad_request(
                    "invalid_request",
                    "PKCE code challenge should be specified in the authorize request for "
                    "code verification.",
                )
            return
        if not verifier:
            raise _bad_request(
                "invalid_request", "PKCE code verifier is required by the application."
            )
        if _s256(verifier) != challenge:
            raise _bad_request("invalid_grant", "PKCE verification failed.")

    def _refresh_token(
        self, server: AuthServer, app: AppSettings, form: Mapping[str, str], ctx: dict[str, Any]
    ) -> dict[str, Any]:
        presented = _required(form, "refresh_token")
        with self.store.lock:
            record, grant = self._live_refresh(server, app, presented, ctx)
            scopes = self._scope_down(grant, form.get("scope"))
            now = self.store.clock()
            if "offline_access" not in scopes:
                # Scoped down without offline_access: no refresh token comes back, so the
                # presented one stays the client's current token and must not be rotated out.
                record.last_used = now
                returned: str | None = None
            elif app.rotation == "ROTATE":
                successor = opaque()
                self.store.refresh[successor] = RefreshRecord(successor, grant.id, now)
                if record.rotated_at is None:
                    record.rotated_at = now
                returned = successor
                ctx["detail"] = "rotated"
            else:
                record.last_used = now
                returned = presented if app.static_returns_refresh_token else None
        user = self.authority.settings.user(grant.user) if grant.user else None
        body, _ = self.authority.minter.token_response(server, app, user, scopes, grant, returned)
        ctx["expires_at"] = self.store.clock() + app.access_token_ttl
        return body

    def _live_refresh(
        self, server: AuthServer, app: AppSettings, token: str, ctx: dict[str, Any]
    ) -> tuple[RefreshRecord, Grant]:
        """The refresh token's record and grant if it may be used now; else ``invalid_grant``."""
        record = self.store.refresh.get(token)
        grant = self.store.grants.get(record.grant_id) if record else None
        if record is None or grant is None:
            raise _bad_request("invalid_grant", RT_INVALID)
        ctx["user"] = grant.user
        now = self.store.clock()
        if grant.revoked or grant.server_id != server.id or grant.client_id != app.client_id:
            raise _bad_request("invalid_grant", RT_INVALID)
        if grant.expires_at is not None and now >= grant.expires_at:
            raise _bad_request("invalid_grant", RT_INVALID)
        if now - record.last_used >= app.refresh_token_idle:
            ctx["detail"] = "idle_expired"
            raise _bad_request("invalid_grant", RT_INVALID)
        if record.rotated_at is not None and now > record.rotated_at + app.grace_period:
            # Reuse of a rotated-out token: Okta revokes the whole family (spec §4.4).
            self.store.revoke_grant(grant.id)
            ctx["detail"] = "reuse_detected_family_revoked"
            raise _bad_request("invalid_grant", RT_INVALID)
        return record, grant

    @staticmethod
    def _scope_down(grant: Grant, requested: str | None) -> tuple[str, ...]:
        if requested is None:
            return grant.scopes
        scopes = tuple(dict.fromkeys(requested.split()))
        if not scopes or not set(scopes) <= set(grant.scopes):
            raise _bad_request("invalid_scope", INVALID_SCOPE)
        return scopes

    def _client_credentials(
        self, server: AuthServer, app: AppSettings, form: Mapping[str, str], ctx: dict[str, Any]
    ) -> dict[str, Any]:
        raw = form.get("scope")
        scopes = tuple(dict.fromkeys(raw.split())) if raw else app.default_scopes
        if not scopes:
            raise _bad_request(
                "invalid_scope",
                "The authorization server resource does not have any configured default "
                "scopes, 'scope' must be provided.",
            )
        if "openid" in scopes:
            raise _bad_request(
                "invalid_scope", "Cannot request 'openid' scopes using client credentials."
            )
        if not set(scopes) <= set(server.custom_scopes):
            raise _bad_request("invalid_scope", INVALID_SCOPE)
        body, _ = self.authority.minter.token_response(server, app, None, scopes, None, None)
        ctx["expires_at"] = self.store.clock() + app.access_token_ttl
        return body

    def _device_code(
        self, server: AuthServer, app: AppSettings, form: Mapping[str, str], ctx: dict[str, Any]
    ) -> dict[str, Any]:
        device_code = _required(form, "device_code")
        with self.store.lock:
            record = self.store.devices.get(device_code)
            if (
                record is None
                or record.server_id != server.id
                or record.app != app.name
                or record.status == "consumed"
            ):
                raise _bad_request("invalid_grant", DEVICE_INVALID)
            now = self.store.clock()
            if now > record.expires_at:
                raise _bad_request("expired_token", "The device code has expired.")
            if record.status == "pending" and self.store.auto_approve:
                record.status, record.user = "approved", self.store.auto_approve
            if record.status == "denied":
                raise OAuthFailure(
                    400,
                    "access_denied",
                    "The resource owner or authorization server denied the request.",
                )
            if record.status == "pending":
                too_fast = record.last_poll is not None and now - record.last_poll < record.interval
                record.last_poll = now
                if too_fast:
                    record.interval += 5  # RFC 8628 §3.5
                    raise _bad_request(
                        "slow_down", "Slow down the polling frequency. Please try again later."
                    )
                raise _bad_request(
                    "authorization_pending",
                    "The device authorization is pending. Please try again later.",
                )
            record.status = "consumed"
            user = record.user or ""
        ctx["user"] = user
        body, _ = self.authority.issue_login(server, app, user, record.scopes, int(now), None)
        ctx["expires_at"] = self.store.clock() + app.access_token_ttl
        return body

    # -- /v1/device/authorize --------------------------------------------------------------

    def device_authorize(
        self, server: AuthServer, app: AppSettings, form: Mapping[str, str]
    ) -> dict[str, Any]:
        if DEVICE_GRANT not in app.grant_types:
            raise _bad_request(
                "unauthorized_client",
                "The client is not authorized to use the provided grant type. "
                f"Configured grant types: [{_listing(app.grant_types)}].",
            )
        scopes = self.authority.check_scopes(server, _required(form, "scope"))
        with self.store.lock:
            now = self.store.clock()
            user_code = self.store.new_user_code()
            record = DeviceRecord(
                device_code=str(uuid.uuid4()),
                user_code=user_code,
                server_id=server.id,
                app=app.name,
                scopes=scopes,
                expires_at=now + app.device_code_ttl,
                interval=app.device_interval,
            )
            self.store.devices[record.device_code] = record
            self.store.user_codes[user_code] = record.device_code
        activate = f"{self.authority.base_url}/activate"
        return {
            "device_code": record.device_code,
            "user_code": user_code,
            "verification_uri": activate,
            "verification_uri_complete": f"{activate}?user_code={user_code}",
            "expires_in": app.device_code_ttl,
            "interval": app.device_interval,
        }
