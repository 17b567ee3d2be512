"""RSA signing keys with Okta's life cycle: ACTIVE signs, NEXT is published, EXPIRED lingers."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from ._key_source import new_rsa_key

__all__ = ["KeyRing", "b64url"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class _Key:
    kid: str
    private: rsa.RSAPrivateKey
    status: str  # ACTIVE, NEXT, EXPIRED

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {
            "kty": "RSA",
            "alg": "RS256",
            "kid": self.kid,
            "use": "sig",
            "e": jwk["e"],
            "n": jwk["n"],
        }


def _new_key(status: str) -> _Key:
    private = new_rsa_key()
    kid = b64url(hashlib.sha256(secrets.token_bytes(32)).digest())  # 43 chars, as Okta's
    return _Key(kid=kid, private=private, status=status)


class KeyRing:
    """The keys of one authorization server. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys = [_new_key("ACTIVE"), _new_key("NEXT")]

    def jwks(self) -> dict[str, Any]:
        """The published key set: ACTIVE, NEXT and the most recently EXPIRED key (1-3 keys)."""
        with self._lock:
            return {"keys": [key.public_jwk() for key in self._keys]}

    def sign(self, claims: dict[str, Any]) -> str:
        with self._lock:
            active = next(key for key in self._keys if key.status == "ACTIVE")
        # Okta's header is {"kid", "alg"} only: PyJWT's default "typ": "JWT" is dropped.
        headers = {"kid": active.kid, "typ": None}
        return jwt.encode(claims, active.private, algorithm="RS256", headers=headers)

    def decode(self, token: str, **options: Any) -> dict[str, Any]:
        """Verify ``token`` against these keys (RS256 only); raises ``jwt.PyJWTError``."""
        kid = jwt.get_unverified_header(token).get("kid")
        with self._lock:
            key = next((k for k in self._keys if k.kid == kid), None)
        if key is None:
            raise jwt.InvalidKeyError("unknown kid")
        claims: dict[str, Any] = jwt.decode(
            token, key.private.public_key(), algorithms=["RS256"], **options
        )
        return claims

    def rotate(self) -> str:
        """ACTIVE becomes EXPIRED, NEXT becomes ACTIVE, a new NEXT is made; returns the new kid."""
        fresh = _new_key("NEXT")
        with self._lock:
            self._keys = [k for k in self._keys if k.status != "EXPIRED"]
            for key in self._keys:
                key.status = {"ACTIVE": "EXPIRED", "NEXT": "ACTIVE"}[key.status]
            self._keys.append(fresh)
            return next(k.kid for k in self._keys if k.status == "ACTIVE")
