"""KeySets: the shared JWKS caches of a DiscoveryCache (the process's, by default)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from okta_nb_auth import DiscoveryCache
from okta_nb_auth._discovery import DISCOVERY_CACHE
from okta_nb_auth._jwks import KeySets
from okta_nb_auth._verify import forget_issuer

A, B = "https://a.okta.com/oauth2/default", "https://b.okta.com/oauth2/default"


@dataclass
class Unhashable:  # a dataclass with eq and no hash: a clock that cannot be a dict key
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_cache_per_issuer_uri_clock_and_cooldown() -> None:
    sets = KeySets()
    first = sets.get(A, A + "/v1/keys")
    assert sets.get(A, A + "/v1/keys", clock=time.time, refetch_cooldown=60.0) is first
    assert first.jwks_uri == A + "/v1/keys"
    others = [
        sets.get(B, A + "/v1/keys"),
        sets.get(A, A + "/v1/other-keys"),
        sets.get(A, A + "/v1/keys", clock=time.monotonic),
        sets.get(A, A + "/v1/keys", refetch_cooldown=5.0),
    ]
    assert len({id(cache) for cache in [first, *others]}) == 5


def test_unhashable_clocks_are_told_apart_by_identity() -> None:
    sets = KeySets()
    one, two = Unhashable(), Unhashable()
    assert sets.get(A, A + "/k", clock=one) is sets.get(A, A + "/k", clock=one)
    assert sets.get(A, A + "/k", clock=one) is not sets.get(A, A + "/k", clock=two)


def test_at_most_max_caches_the_oldest_dropped() -> None:
    sets = KeySets()
    first = sets.get(A, "https://a.okta.com/k0")
    for n in range(1, KeySets.MAX + 1):
        sets.get(A, f"https://a.okta.com/k{n}")
    assert len(sets._caches) == KeySets.MAX
    assert sets.get(A, "https://a.okta.com/k0") is not first


def test_forget_drops_one_issuer_and_clear_drops_all() -> None:
    cache = DiscoveryCache()
    a, b = cache.key_sets.get(A, A + "/k"), cache.key_sets.get(B, B + "/k")
    cache.forget(A)
    assert cache.key_sets.get(A, A + "/k") is not a
    assert cache.key_sets.get(B, B + "/k") is b
    cache.clear()
    assert cache.key_sets.get(B, B + "/k") is not b


def test_forget_issuer_drops_the_process_wide_keys() -> None:
    kept = DISCOVERY_CACHE.key_sets.get(B, B + "/k")
    dropped = DISCOVERY_CACHE.key_sets.get(A, A + "/k")
    try:
        forget_issuer(A)
        assert DISCOVERY_CACHE.key_sets.get(A, A + "/k") is not dropped
        assert DISCOVERY_CACHE.key_sets.get(B, B + "/k") is kept
    finally:
        forget_issuer(A)
        forget_issuer(B)


def test_a_cache_gets_the_clock_and_cooldown_it_was_asked_for() -> None:
    clock = Unhashable(now=1000.0)
    cache = KeySets().get(A, A + "/v1/keys", clock=clock, refetch_cooldown=5.0)
    assert cache._clock is clock
    assert cache._cooldown == 5.0


def test_a_verifier_with_its_own_discovery_cache_keeps_its_keys_there() -> None:
    from okta_nb_auth import OktaConfig, TokenVerifier

    own = DiscoveryCache()
    config = OktaConfig(A, "0oa-own-cache")
    verifier = TokenVerifier(config, discovery=own)
    forget_issuer(A)
    try:
        keys = verifier._keys(A + "/v1/keys")
        assert own.key_sets.get(A, A + "/v1/keys", refetch_cooldown=verifier._cooldown) is keys
        assert DISCOVERY_CACHE.key_sets.get(A, A + "/v1/keys") is not keys
    finally:
        forget_issuer(A)
