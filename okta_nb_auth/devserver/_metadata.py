"""Discovery documents: Okta's fields in Okta's order (spec §1.2), limited to what is served.

Every endpoint named here answers, and every method, grant, response type, mode and scope listed
works. What Okta also advertises but the dev server does not implement is left out (the README's
fidelity list names it): ``registration_endpoint``, ``request_parameter_supported`` and request
objects, ``okta_post_message``, implicit and hybrid response types, the password, CIBA and MFA
grants, ID-token encryption, DPoP, ``device_sso``, ``client_secret_jwt``.
``require_pushed_authorization_requests`` is not published, as Okta's documents do not: PAR is
required per app (``AppSettings``), never by the whole server. Nor is
``token_endpoint_auth_signing_alg_values_supported``: Okta's live documents (TRACE) lack it,
although ``private_key_jwt`` takes RS/ES 256/384/512 (``_client_keys.SIGNING_ALGS``).
"""

from __future__ import annotations

from typing import Any

from ._clients import VERIFIERS
from ._tokens import AuthServer

__all__ = ["metadata"]

_OKTA_AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
)
#: Okta's order, keeping only the methods the token endpoint can verify (also those of
#: ``/v1/introspect`` and ``/v1/revoke``, which authenticate clients the same way).
AUTH_METHODS = [method for method in _OKTA_AUTH_METHODS if method in VERIFIERS]
# Okta's list without middle_name, profile, address, phone_number, picture, website, gender,
# birthdate, updated_at (no test user has them) and c_hash (hybrid flows only).
_OIDC_CLAIMS = (
    "iss ver sub aud iat exp jti auth_time amr idp nonce name nickname preferred_username "
    "given_name family_name email email_verified zoneinfo locale at_hash"
).split()
_ACCESS_CLAIMS = "ver jti iss aud iat exp cid uid scp sub".split()
_GRANTS = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]


def metadata(server: AuthServer, oauth: bool) -> dict[str, Any]:
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
        jwks_uri=f"{base}/keys",
        response_types_supported=["code"],
        response_modes_supported=["query", "fragment", "form_post"],
        grant_types_supported=grants,
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=["RS256"],
        scopes_supported=list(server.scopes),
        token_endpoint_auth_methods_supported=list(AUTH_METHODS),
        claims_supported=_ACCESS_CLAIMS if oauth else _OIDC_CLAIMS,
        code_challenge_methods_supported=["S256"],
        introspection_endpoint=f"{base}/introspect",
        introspection_endpoint_auth_methods_supported=list(AUTH_METHODS),
        revocation_endpoint=f"{base}/revoke",
        revocation_endpoint_auth_methods_supported=list(AUTH_METHODS),
        end_session_endpoint=f"{base}/logout",
        device_authorization_endpoint=f"{base}/device/authorize",
        pushed_authorization_request_endpoint=f"{base}/par",
    )
    return doc
