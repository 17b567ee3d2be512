"""``private_key_jwt`` (RFC 7523 §2.2), Okta's recommended client authentication for service
apps: the client's private key, checked once in :class:`~okta_nb_auth.OktaConfig`, and the
signed assertion sent in place of a secret with every token, revoke, device and PAR request.

The assertion (Okta's "Build a JWT for client authentication"): header ``alg`` (RS256 for an
RSA key, ES256/384/512 for an EC key on P-256/384/521) and ``kid`` (the ``key_id`` given);
claims ``iss`` = ``sub`` = the client ID, ``aud`` = the full URL of the endpoint the request
goes to, ``iat``, ``exp`` = ``iat`` + 300 s (Okta allows at most an hour) and a random ``jti``
(single use at Okta). It is made per request and never logged; the key is never shown.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ._exceptions import ConfigError
from ._secret import Secret

if TYPE_CHECKING:
    from ._config import OktaConfig

__all__ = ["ASSERTION_LIFETIME", "JWT_BEARER", "ClientKey", "assertion_fields", "client_key"]

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_CURVES = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_NOT_LOADED = (
    "private_key does not load as a PEM private key ({reason}). Pass the unencrypted PEM text "
    "of the key whose public half is in the Okta app's JWKS (-----BEGIN PRIVATE KEY-----), "
    "or a loaded cryptography private key."
)


@dataclass(frozen=True)
class ClientKey:
    """A loaded private key, its JWS algorithm and ``kid``; shows neither key nor PEM."""

    key: PrivateKey = field(repr=False)
    alg: str
    key_id: str | None


def _load(value: object) -> PrivateKey:
    if isinstance(value, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        return value
    if not isinstance(value, (str, bytes)):
        raise ConfigError(
            "private_key must be PEM text or a cryptography RSA/EC private key, not "
            f"{type(value).__name__}."
        )
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # an encrypted key: never the key text in the message
        raise ConfigError(_NOT_LOADED.format(reason="it is encrypted")) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(_NOT_LOADED.format(reason="not a PEM private key")) from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise ConfigError(_NOT_LOADED.format(reason=f"a {type(key).__name__}, not RSA or EC"))
    return key


def _alg(key: PrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ConfigError("private_key is an RSA key under 2048 bits; make a 2048-bit one.")
        return "RS256"
    alg = _CURVES.get(key.curve.name)
    if alg is None:
        raise ConfigError("private_key is an EC key on a curve other than P-256, P-384, P-521.")
    return alg


def _check_key_id(key_id: object) -> str | None:
    if key_id is None:
        return None
    if not isinstance(key_id, str) or not key_id or not key_id.isprintable():
        raise ConfigError("key_id must be the key's ID (kid) from the Okta app's public keys.")
    return key_id


def client_key(
    private_key: object, key_id: object, method: str, has_secret: bool
) -> tuple[Any, ClientKey | None]:
    """``(private_key as kept, ClientKey)`` for an :class:`OktaConfig`, or :class:`ConfigError`.

    PEM text is kept as a masked :class:`~okta_nb_auth._secret.Secret`."""
    kid = _check_key_id(key_id)
    if method == "private_key_jwt" and has_secret:
        raise ConfigError(
            "client_secret is not supported with 'private_key_jwt', which signs with private_key "
            "instead: give one credential, not both."
        )
    if private_key is None:
        if method == "private_key_jwt":
            raise ConfigError(
                "token_endpoint_auth_method 'private_key_jwt' needs private_key (the PEM of the "
                "key whose public half is in the app's JWKS) and key_id (its kid)."
            )
        return None, None
    if method != "private_key_jwt":
        raise ConfigError(f"private_key is for 'private_key_jwt', not {method!r}.")
    key = _load(private_key)
    kept = private_key
    if isinstance(private_key, (str, bytes)):  # PEM: loaded, so it is ASCII
        kept = Secret(
            private_key if isinstance(private_key, str) else private_key.decode("latin-1")
        )
    return kept, ClientKey(key, _alg(key), kid)


def assertion_fields(config: OktaConfig, url: str, now: float | None = None) -> dict[str, str]:
    """The form fields that authenticate ``config``'s client at ``url`` (a fresh assertion)."""
    signing = config._client_key
    if signing is None:  # OktaConfig sees to it for private_key_jwt
        raise ConfigError("private_key_jwt needs OktaConfig(private_key=..., key_id=...).")
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": config.client_id,
        "sub": config.client_id,
        "aud": url,
        "iat": issued,
        "exp": issued + ASSERTION_LIFETIME,
        "jti": secrets.token_urlsafe(32),
    }
    headers = {"kid": signing.key_id} if signing.key_id else None
    assertion = jwt.encode(claims, signing.key, algorithm=signing.alg, headers=headers)
    return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion}
