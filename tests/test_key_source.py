"""The dev server's RSA keys come from the installed key source; by default each is new."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager

from cryptography.hazmat.primitives.asymmetric import rsa
from key_pool import KeyPool

from okta_nb_auth.devserver import DevServer
from okta_nb_auth.devserver._key_source import KeySource, new_rsa_key, use_key_source


def modulus(key: rsa.RSAPrivateKey) -> int:
    return key.public_key().public_numbers().n


def jwk_modulus(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


@contextmanager
def source_installed(source: KeySource | None) -> Iterator[None]:
    """``source`` for the duration (None: the package's own), then the suite's pool again."""
    previous = use_key_source(source)
    try:
        yield
    finally:
        use_key_source(previous)


def test_by_default_every_key_is_new_rsa_2048() -> None:
    with source_installed(None):
        first, second = new_rsa_key(), new_rsa_key()
    assert first.key_size == second.key_size == 2048
    assert first.public_key().public_numbers().e == 65537
    assert modulus(first) != modulus(second)


def test_a_pool_repeats_a_key_only_after_all_the_others() -> None:
    pool = KeyPool(size=3)
    handed = [modulus(pool()) for _ in range(7)]
    assert len(set(handed[:3])) == 3
    assert handed[3:6] == handed[:3] and handed[6] == handed[0]


def test_the_dev_server_signs_with_keys_from_the_installed_source() -> None:
    pool, made = KeyPool(size=16), []

    def source() -> rsa.RSAPrivateKey:
        made.append(modulus(key := pool()))
        return key

    with source_installed(source), DevServer(port=0) as dev:
        published = dev.authority.servers["default"].keys.jwks()["keys"]
        service = dev.app("service-jwt").jwks
    assert len(made) == len(set(made)) >= 5  # both servers' keys and service-jwt's pair
    assert published and {jwk_modulus(key["n"]) for key in published} <= set(made)
    assert service is not None and jwk_modulus(service["keys"][0]["n"]) in made
