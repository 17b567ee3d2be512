"""The JWKS cache, pinned down to what a mutation run changes: which keys count as RS256
signing keys, each TTL bound at its exact second, the request it sends, what a failed fetch
keeps and logs, and the messages a user reads."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fake_okta import jwk
from test_jwks import URI, Clock, Keys, get

from okta_nb_auth import KeyFetchError, TokenVerificationError
from okta_nb_auth._jwks import JWKSCache

REQUEST = httpx.Request("GET", URI)


def parse(body: Any, status: int = 200) -> dict[str, Any]:
    return JWKSCache(URI).parse(httpx.Response(status, json=body, request=REQUEST))


def refused(body: Any, status: int = 200) -> KeyFetchError:
    with pytest.raises(KeyFetchError) as info:
        parse(body, status)
    return info.value


def without(key: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in key.items() if k != name}


def test_keys_without_use_or_alg_are_rs256_signing_keys() -> None:
    assert list(parse({"keys": [without(jwk("a"), "use"), without(jwk("b"), "alg")]})) == [
        "a",
        "b",
    ]


def test_encryption_keys_are_not_signing_keys() -> None:
    error = refused({"keys": [{**jwk("k1"), "use": "enc"}]})
    assert str(error) == "The JWKS response has no RSA signing key."


def test_a_key_without_kid_is_kept_under_an_empty_kid() -> None:
    assert list(parse({"keys": [without(jwk("k1"), "kid")]})) == [""]


def test_a_document_that_is_not_an_object_has_no_keys_list() -> None:
    assert str(refused([jwk("k1")])) == "The JWKS response has no 'keys' list."


def test_an_http_error_keeps_its_status() -> None:
    error = refused({"errorCode": "E0000015"}, status=503)
    assert (str(error), error.status_code) == ("The JWKS endpoint answered HTTP 503.", 503)


def test_an_unusable_key_is_skipped_with_a_warning_naming_its_error(caplog: Any) -> None:
    broken = {**jwk("bad"), "n": 12345}
    with caplog.at_level(logging.WARNING, logger="okta_nb_auth"):
        assert list(parse({"keys": [broken, jwk("k1")]})) == ["k1"]
    [record] = caplog.records
    assert record.getMessage() == "Ignoring an unusable key in the JWKS: InvalidKeyError"


def test_the_key_request_asks_for_json_and_is_marked_as_ours() -> None:
    request = next(JWKSCache(URI).key_flow("k1"))
    assert (request.method, str(request.url)) == ("GET", URI)
    assert request.headers["Accept"] == "application/json"
    assert request.extensions == {"okta_nb_auth": "jwks"}


def test_a_new_cache_has_no_kids() -> None:
    assert JWKSCache(URI).kids == ()


@pytest.mark.parametrize(
    ("max_age", "ttl"),
    [(None, 3600), (1, 60), (10**7, 86400)],
    ids=["no-header-an-hour", "at-least-a-minute", "at-most-a-day"],
)
def test_the_default_ttl_bounds_hold_to_the_second(max_age: int | None, ttl: int) -> None:
    clock, keys = Clock(), Keys("k1", max_age=max_age)
    cache = JWKSCache(URI, clock=clock)
    get(cache, keys, "k1")
    clock.now += ttl - 1
    get(cache, keys, "k1")
    assert keys.calls == 1
    clock.now += 1
    get(cache, keys, "k1")
    assert keys.calls == 2


def test_an_unknown_kid_may_refetch_exactly_one_default_cooldown_later() -> None:
    clock, keys = Clock(), Keys("k1")
    cache = JWKSCache(URI, clock=clock)
    get(cache, keys, "k1")
    for _ in range(2):  # one refetch for the unknown kid, then none within the cooldown
        with pytest.raises(TokenVerificationError):
            get(cache, keys, "forged")
    assert keys.calls == 2
    clock.now += 60
    with pytest.raises(TokenVerificationError):
        get(cache, keys, "forged")
    assert keys.calls == 3


def test_an_unknown_kid_after_a_failed_refresh_still_gets_its_refetch() -> None:
    clock, keys = Clock(), Keys("k1")
    cache = JWKSCache(URI, clock=clock)
    get(cache, keys, "k1")
    clock.now += 10_000  # expired; the scheduled fetch fails, the old set stays
    keys.fail = 503
    with pytest.raises(TokenVerificationError):
        get(cache, keys, "k2")
    assert keys.calls == 3  # the failed scheduled fetch, then the unknown kid's own refetch


def test_a_failed_fetch_is_logged_and_retried_after_the_cooldown(caplog: Any) -> None:
    clock, keys = Clock(), Keys("k1")
    cache = JWKSCache(URI, clock=clock)
    get(cache, keys, "k1")
    clock.now += 10_000
    keys.fail = httpx.ConnectError("down")
    with caplog.at_level(logging.WARNING, logger="okta_nb_auth"):
        get(cache, keys, "k1")
    [record] = caplog.records
    assert record.getMessage() == (
        "JWKS fetch failed (Network error talking to dev-1.okta.com: ConnectError. Retry "
        "later.); keeping the last good key set."
    )
    clock.now += 59
    get(cache, keys, "k1")
    assert keys.calls == 2
    clock.now += 1
    get(cache, keys, "k1")
    assert keys.calls == 3


def test_an_unknown_kid_says_why_it_is_refused() -> None:
    with pytest.raises(TokenVerificationError) as info:
        get(JWKSCache(URI, clock=Clock()), Keys("k1"), "forged")
    assert str(info.value) == (
        "The token's signing key id is not in the issuer's key set: the token was not issued "
        "by this authorization server, or its key was retired."
    )
