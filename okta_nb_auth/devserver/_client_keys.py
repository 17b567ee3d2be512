"""Apps' public keys for ``private_key_jwt`` (an Okta app's ``jwks``), and the key pairs the dev
server makes for apps that have none of their own.

Okta holds only the public half (Apps API ``jwks``); the private key is the client's. The dev
server makes a pair for the default ``service-jwt`` app, and for any app set to
``private_key_jwt`` without ``jwks``, new at every start like client secrets, and hands the
private key only to the ways it hands out secrets: ``dev.app(name).private_key_pem``,
``dev.config(name)`` (with ``key_id``) and ``GET /admin/apps/NAME`` on loopback. It is a
:class:`~okta_nb_auth._secret.Secret`: masked in every repr, never pickled, never in an event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

from .._secret import Secret
from ._key_source import new_rsa_key
from ._keys import b64url

__all__ = [
    "SIGNING_ALGS",
    "config_values",
    "generate_key_pair",
    "jwks_problem",
    "key_changes",
    "named_keys",
    "usable",
]

#: OIDC-REF "Client authentication methods": private_key_jwt assertions are RS/ES 256/384/512.
SIGNING_ALGS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
#: JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4).
_PRIVATE = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
MAX_KEYS = 50


def generate_key_pair() -> tuple[dict[str, Any], Secret]:
    """A new RSA-2048 key: its public JWK Set (``kid`` = RFC 7638 thumbprint) and private PEM."""
    private = new_rsa_key()
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    members = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    kid = b64url(hashlib.sha256(members.encode("ascii")).digest())
    public = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "e": jwk["e"], "n": jwk["n"]}
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {"keys": [public]}, Secret(pem.decode("ascii"))


def _key_problem(key: object) -> str | None:
    if not isinstance(key, Mapping):
        return "each key in jwks must be a JSON object (a JWK)"
    kid = key.get("kid")
    if not isinstance(kid, str) or not kid:
        return "each key in jwks needs a 'kid', the key ID the client's assertions name"
    leaked = [name for name in _PRIVATE if name in key]
    if leaked:
        return f"jwks holds public keys only: key {kid!r} has private member(s) {leaked}"
    if key.get("kty") not in ("RSA", "EC"):
        return f"key {kid!r}: kty must be 'RSA' or 'EC' (private_key_jwt signs with RS/ES)"
    if key.get("use", "sig") != "sig" or key.get("alg", "RS256") not in SIGNING_ALGS:
        return f"key {kid!r}: 'use' must be 'sig' and 'alg' one of {', '.join(SIGNING_ALGS)}"
    try:
        jwt.PyJWK(dict(key))
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return f"key {kid!r} is not a valid {key['kty']} public key"
    return None


def jwks_problem(jwks: object) -> str | None:
    """What is wrong with an app's ``jwks`` (a JSON Web Key Set of public keys), or None."""
    if jwks is None:
        return None
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS:
        return (
            'jwks must be a JSON Web Key Set, {"keys": [...]}, with 1 to '
            f"{MAX_KEYS} public keys (in TOML: an inline JSON string or a table)"
        )
    for key in keys:
        problem = _key_problem(key)
        if problem is not None:
            return problem
    if len({key["kid"] for key in keys}) != len(keys):
        return "all keys in jwks must have a unique kid"  # Okta's jwks_uri_ambiguous_keys
    return None


def _fits(key: Mapping[str, Any], alg: str) -> bool:
    if key.get("alg", alg) != alg:
        return False
    if alg.startswith("RS"):
        return bool(key.get("kty") == "RSA")
    return key.get("kty") == "EC" and key.get("crv") == _CURVES[alg]


def named_keys(jwks: Mapping[str, Any], kid: object) -> list[dict[str, Any]]:
    """The keys an assertion's ``kid`` names; all of them when its header has no ``kid``."""
    keys = [dict(key) for key in jwks["keys"]]
    return keys if kid is None else [key for key in keys if key["kid"] == kid]


def usable(keys: list[dict[str, Any]], alg: str) -> list[Any]:
    """The PyJWT keys among ``keys`` that can verify an ``alg`` signature."""
    found = []
    for key in (key for key in keys if _fits(key, alg)):
        try:
            found.append(jwt.PyJWK(key, algorithm=alg).key)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):  # checked at configuration
            continue
    return found


def config_values(app: Any) -> dict[str, Any]:
    """``OktaConfig`` values for a ``private_key_jwt`` app: its generated key, if the dev server
    holds one, and no secret (a config gives a secret or a private key, never both)."""
    if app.token_endpoint_auth_method != "private_key_jwt":
        return {}
    values: dict[str, Any] = {"client_secret": None}
    if app.private_key_pem is not None:
        values.update(private_key=app.private_key_pem, key_id=app.jwks["keys"][0]["kid"])
    return values


def key_changes(app: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
    """What else changes with ``changes``: new ``jwks`` are the user's own (the generated
    private key no longer matches), and an app switched to ``private_key_jwt`` without
    ``jwks`` gets a generated pair."""
    if "jwks" in changes:
        return {"private_key_pem": None}
    method = changes.get("token_endpoint_auth_method", app.token_endpoint_auth_method)
    if method == "private_key_jwt" and app.jwks is None:
        jwks, pem = generate_key_pair()
        return {"jwks": jwks, "private_key_pem": pem}
    return {}
