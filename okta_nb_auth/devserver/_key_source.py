"""Where the dev server's RSA keys come from: a new RSA-2048 key each time one is asked for.

The signing keys of both authorization servers and the key pairs made for ``private_key_jwt``
apps all come from :func:`new_rsa_key`. A test suite that starts hundreds of dev servers may
install a source of its own with :func:`use_key_source` (its conftest hands out keys from a
pool made once, because making an RSA key is most of a dev server's start-up); ``None``
restores the default.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["KeySource", "generate_rsa_key", "new_rsa_key", "use_key_source"]

KeySource = Callable[[], rsa.RSAPrivateKey]


def generate_rsa_key() -> rsa.RSAPrivateKey:
    """A new RSA-2048 key (public exponent 65537), as Okta's signing keys are."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


_source: list[KeySource] = [generate_rsa_key]


def new_rsa_key() -> rsa.RSAPrivateKey:
    """A key from the installed source (by default a new one: :func:`generate_rsa_key`)."""
    return _source[0]()


def use_key_source(source: KeySource | None) -> KeySource:
    """Take keys from ``source`` from now on (``None``: make a new key each time again);
    returns the source used until now, to put back later."""
    previous = _source[0]
    _source[0] = source if source is not None else generate_rsa_key
    return previous
