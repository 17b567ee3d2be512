"""Discovery documents with the fields, in the order, that Okta's carry (spec §1.2)."""

from __future__ import annotations

from typing import Any

from ._tokens import AuthServer

__all__ = ["metadata"]

_AUTH_METHODS = [
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
]
_OIDC_CLAIMS = (
    "iss ver sub aud iat exp jti auth_time amr idp nonce name nickname preferred_username "
    "given_name middle_name family_name email email_verified profile zoneinfo locale address "
    "phone_number picture website gender birthdate updated_at at_hash c_hash"
).split()
_ACCESS_CLAIMS = "ver jti iss aud iat exp cid uid scp sub".split()
# Okta lists more grants and response types (implicit, password, CIBA, hybrid); the dev
# server lists only what it implements, so a client that trusts the document is never misled.
_GRANTS = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]
_SIGNING = [f"{kind}{bits}" for kind in ("HS", "RS", "ES") for bits in (256, 384, 512)]


def metadata(server: AuthServer, org_base: str, oauth: bool) -> dict[str, Any]:
    """``openid-configuration`` (``oauth=False``) or ``oauth-authorization-server``.

    The OAuth document of a custom server adds ``client_credentials`` and drops
    ``userinfo_endpoint``, as Okta's does.
    """
    base = server.endpoint_base
    grants = list(_GRANTS)
    if oauth and not server.is_org:
        grants.insert(1, "client_credentials")
    doc: dict[str, Any] = {
        "issuer": server.issuer,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
    }
    if not oauth:
        doc["userinfo_endpoint"] = f"{base}/userinfo"
    doc.update(
        registration_endpoint=f"{org_base}/oauth2/v1/clients",
        jwks_uri=f"{base}/keys",
        response_types_supported=["code"],
        response_modes_supported=["query", "fragment", "form_post", "okta_post_message"],
        grant_types_supported=grants,
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=["RS256"],
        scopes_supported=list(server.scopes) + (["groups"] if server.is_org else []),
        token_endpoint_auth_methods_supported=_AUTH_METHODS,
        claims_supported=_ACCESS_CLAIMS if oauth else _OIDC_CLAIMS,
        code_challenge_methods_supported=["S256"],
        introspection_endpoint=f"{base}/introspect",
        introspection_endpoint_auth_methods_supported=_AUTH_METHODS,
        revocation_endpoint=f"{base}/revoke",
        revocation_endpoint_auth_methods_supported=_AUTH_METHODS,
        end_session_endpoint=f"{base}/logout",
        request_parameter_supported=True,
        request_object_signing_alg_values_supported=_SIGNING,
        device_authorization_endpoint=f"{base}/device/authorize",
    )
    return doc
