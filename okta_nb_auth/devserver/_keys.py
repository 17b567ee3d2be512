"""RSA signing keys with Okta's life cycle: ACTIVE signs, NEXT is published, EXPIRED lingers."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from ._key_source import new_rsa_key

__all__ = ["KeyRing", "b64url"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


def _segment(value: dict[str, Any]) -> str:
    """One JWS segment, serialised as PyJWT does: compact JSON, base64url without padding."""
    return b64url(json.dumps(value, separators=(",", ":")).encode())


@dataclass
class _Key:
    kid: str
    private: rsa.RSAPrivateKey
    status: str  # ACTIVE, NEXT, EXPIRED
    header: str = field(init=False)  # the encoded JWS header segment

    def __post_init__(self) -> None:
        # Okta's header is {"alg", "kid"} only (no "typ"), in PyJWT's sorted key order; it is
        # the same for every token of this key, so it is serialised once.
        self.header = _segment({"alg": "RS256", "kid": self.kid})

    def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 JWS of ``claims``, byte for byte what ``jwt.encode`` gives for it."""
        signing_input = f"{self.header}.{_segment(claims)}"
        signature = self.private.sign(signing_input.encode("ascii"), _PKCS1, _SHA256)
        return f"{signing_input}.{b64url(signature)}"

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
        self._active = self._keys[0]

    def jwks(self) -> dict[str, Any]:
        """The published key set: ACTIVE, NEXT and the most recently EXPIRED key (1-3 keys)."""
        with self._lock:
            return {"keys": [key.public_jwk() for key in self._keys]}

    def sign(self, claims: dict[str, Any]) -> str:
        with self._lock:
            active = self._active
        return active.sign(claims)

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
            self._active = next(k for k in self._keys if k.status == "ACTIVE")
            return self._active.kid
