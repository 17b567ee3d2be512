"""Sealed parcels: an access token on its way to one borrower, readable by that borrower only.

A borrower in another process makes an X25519 key pair and sends its public half with every
request for a token. The lender seals the token to it (an ephemeral X25519 exchange, HKDF,
AES-GCM), so the bytes that cross the engine's messages, and any copy the engine keeps or
pickles on the way (a scheduler's memory, a log of a failed call), hold no usable token.
"""

from __future__ import annotations

import base64
import os
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .._exceptions import ProtocolError
from .._secret import refuse_pickle

__all__ = ["Opener", "seal"]

_INFO = b"okta-nb-auth borrowed access token v1"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def _key(shared: bytes, context: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=_INFO + context).derive(shared)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal(token: str, recipient: str, context: str) -> str:
    """``token`` sealed to ``recipient`` (a base64 X25519 public key); ``context`` (the
    parcel's other fields) is bound to it, so it cannot be moved to another parcel."""
    try:
        their = X25519PublicKey.from_public_bytes(base64.b64decode(recipient, validate=True))
    except ValueError as exc:
        raise ProtocolError("A borrower sent an unusable public key.") from exc
    mine = X25519PrivateKey.generate()
    nonce = os.urandom(12)
    box = AESGCM(_key(mine.exchange(their), context.encode()))
    sealed = box.encrypt(nonce, token.encode(), context.encode())
    return ".".join(_b64(part) for part in (mine.public_key().public_bytes(*_RAW), nonce, sealed))


class Opener:
    """A borrower's key pair: :attr:`public` goes with every request, :meth:`open` reads
    what was sealed to it. The private half never leaves this object (nor is pickled)."""

    def __init__(self) -> None:
        self._private = X25519PrivateKey.generate()
        self.public = _b64(self._private.public_key().public_bytes(*_RAW))

    def open(self, sealed: str, context: str) -> str:
        try:
            their, nonce, box = (
                base64.b64decode(part, validate=True) for part in sealed.split(".")
            )
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(their))
            plain = AESGCM(_key(shared, context.encode())).decrypt(nonce, box, context.encode())
        except (ValueError, InvalidTag) as exc:  # wrong shape, wrong key, tampered
            raise ProtocolError("A sealed access token could not be opened.") from exc
        return plain.decode()

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        refuse_pickle("An Opener (a borrower's private key)")
