"""JWKS cache: TTL from Cache-Control, last good set kept, throttled refetch on unknown kid."""

from __future__ import annotations

import httpx
import pytest
from fake_okta import jwk

from okta_nb_auth import KeyFetchError, TokenVerificationError
from okta_nb_auth._jwks import JWKSCache

URI = "https://dev-1.okta.com/oauth2/default/v1/keys"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Keys:
    """A scripted JWKS endpoint: current kids, optional failure, a call counter."""

    def __init__(self, *kids: str, max_age: int | None = 600) -> None:
        self.kids = list(kids)
        self.fail: Exception | int | None = None
        self.calls = 0
        self.max_age = max_age

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if isinstance(self.fail, Exception):
            raise self.fail
        if isinstance(self.fail, int):
            return httpx.Response(self.fail, content=b"<html>")
        headers = {"Cache-Control": f"max-age={self.max_age}"} if self.max_age else {}
        return httpx.Response(200, json={"keys": [jwk(k) for k in self.kids]}, headers=headers)


def get(cache: JWKSCache, keys: Keys, kid: str | None) -> object:
    from okta_nb_auth._drive import run_sync

    with keys.client() as client:
        return run_sync(cache.key_flow(kid), client)


def test_cached_within_ttl_and_refetched_after() -> None:
    clock, keys = Clock(), Keys("k1", max_age=600)
    cache = JWKSCache(URI, clock=clock)
    get(cache, keys, "k1")
    clock.now += 599
    get(cache, keys, "k1")
    assert keys.calls == 1
    clock.now += 2
    get(cache, keys, "k1")
    assert keys.calls == 2


def test_ttl_is_capped() -> None:
    clock, keys = Clock(), Keys("k1", max_age=45 * 86400)  # Okta's real max-age
    cache = JWKSCache(URI, clock=clock, max_ttl=86400)
    get(cache, keys, "k1")
    clock.now += 86401
    get(cache, keys, "k1")
    assert keys.calls == 2


def test_unknown_kid_refetches_once_per_cooldown() -> None:
    clock, keys = Clock(), Keys("k1")
    cache = JWKSCache(URI, clock=clock, refetch_cooldown=30)
    get(cache, keys, "k1")
    keys.kids = ["k1", "k2"]  # rotated at the server
    assert get(cache, keys, "k2") is not None
    assert keys.calls == 2
    for _ in range(5):  # forged kids within the cooldown of that refetch: no request at all
        with pytest.raises(TokenVerificationError, match="signing key id"):
            get(cache, keys, "forged")
    assert keys.calls == 2
    clock.now += 31
    for _ in range(5):  # after the cooldown: one refetch, then quiet again
        with pytest.raises(TokenVerificationError):
            get(cache, keys, "forged")
    assert keys.calls == 3


def test_first_fetch_with_unknown_kid_does_not_fetch_twice() -> None:
    keys = Keys("k1")
    with pytest.raises(TokenVerificationError):
        get(JWKSCache(URI, clock=Clock()), keys, "nope")
    assert keys.calls == 1


@pytest.mark.parametrize("failure", [503, httpx.ConnectError("down")])
def test_last_good_set_is_kept_when_a_fetch_fails(failure: Exception | int) -> None:
    clock, keys = Clock(), Keys("k1")
    cache = JWKSCache(URI, clock=clock)
    get(cache, keys, "k1")
    clock.now += 10_000  # expired
    keys.fail = failure
    assert get(cache, keys, "k1") is not None
    assert cache.kids == ("k1",)
    calls = keys.calls
    get(cache, keys, "k1")  # the failure is not retried on every verification
    assert keys.calls == calls


def test_no_keys_and_fetch_fails_is_key_fetch_error() -> None:
    keys = Keys("k1")
    keys.fail = httpx.ConnectError("down")
    with pytest.raises(KeyFetchError, match="Could not fetch"):
        get(JWKSCache(URI, clock=Clock()), keys, "k1")


def test_bad_documents() -> None:
    cache = JWKSCache(URI)
    request = httpx.Request("GET", URI)
    with pytest.raises(KeyFetchError, match="'keys'"):
        cache.parse(httpx.Response(200, json={"nope": []}, request=request))
    only_ec = {"keys": [{"kty": "EC", "kid": "e", "crv": "P-256", "x": "a", "y": "b"}]}
    with pytest.raises(KeyFetchError, match="no RSA"):
        cache.parse(httpx.Response(200, json=only_ec, request=request))
    hs = {"keys": [{**jwk("k1"), "alg": "HS256"}]}
    with pytest.raises(KeyFetchError):
        cache.parse(httpx.Response(200, json=hs, request=request))


def test_token_without_kid_uses_the_only_key() -> None:
    assert get(JWKSCache(URI, clock=Clock()), Keys("k1"), None) is not None
    with pytest.raises(TokenVerificationError):
        get(JWKSCache(URI, clock=Clock()), Keys("k1", "k2"), None)
