"""A pool of RSA keys for the dev servers the tests start (see ``devserver._key_source``).

Making an RSA-2048 key is most of a dev server's start-up, and the suite starts hundreds. The
pool makes its first ``size`` keys when they are asked for, then hands the same keys out again
in turn: a key comes back only after ``size - 1`` others, so the keys of one server, of two
servers a test compares, and a key and its rotation stay distinct (a server takes 7).
"""

from __future__ import annotations

import threading

from cryptography.hazmat.primitives.asymmetric import rsa

from okta_nb_auth.devserver._key_source import generate_rsa_key

__all__ = ["KeyPool"]


class KeyPool:
    """A key source (a callable) over ``size`` keys, handed out round-robin. Thread-safe."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._keys: list[rsa.RSAPrivateKey] = []
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if len(self._keys) < self._size:
                self._keys.append(generate_rsa_key())
                return self._keys[-1]
            key = self._keys[self._next]
            self._next = (self._next + 1) % self._size
            return key
