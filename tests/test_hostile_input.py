"""Only typed errors, whatever the input: property-based tests of the public entry points.

Each entry point gets arbitrary input (hypothesis) and must answer with a value or an
:class:`OktaAuthError` subclass, never OverflowError, RecursionError, ValueError, TypeError,
httpx.InvalidURL or jwt.InvalidKeyError. The listener and ``paste()`` are covered in
``test_loopback_hostile.py``. Each property is bounded (examples, sizes) to keep the suite fast;
the known escapes that the review found are also pinned as plain examples.
"""

from __future__ import annotations

import base64
import json
import math
import time
from typing import Any

import httpx
import pytest
from fake_okta import CLIENT_ID, ISSUER, FakeOkta, id_claims, jwk, sign
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from okta_nb_auth import (
    DiscoveryCache,
    OktaAuth,
    OktaAuthError,
    OktaConfig,
    ProtocolError,
    RateLimited,
    TokenSet,
    TokenVerificationError,
    TokenVerifier,
)
from okta_nb_auth._discovery import parse_metadata
from okta_nb_auth._jwks import JWKSCache
from okta_nb_auth._protocol import error_from_response, json_body, parse_token_response

NOW = time.time()
BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NESTED = b"[" * 100_000 + b"]" * 100_000  # deeper than any JSON parser's recursion limit

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
token_texts = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"[A-Za-z0-9._~+/=-]{20,60}", fullmatch=True),
)


def response(status: int, content: bytes, url: str = ISSUER + "/v1/token", **headers: str) -> Any:
    return httpx.Response(
        status, content=content, headers=headers, request=httpx.Request("POST", url)
    )


def dumps(value: object) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


# ----------------------------------------------------------------- token responses


token_answers = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "access_token": st.one_of(token_texts, json_values),
            "expires_in": st.one_of(numbers, st.text(max_size=10), json_values),
            "refresh_token": st.one_of(token_texts, json_values),
            "id_token": st.one_of(token_texts, json_values),
            "scope": st.one_of(st.text(max_size=30), json_values),
            "token_type": st.one_of(st.just("Bearer"), json_values),
        },
    ),
)


@BOUNDED
@given(token_answers)
@example({"access_token": "a" * 30, "expires_in": 10**400})  # OverflowError before
@example({"access_token": "a" * 30, "expires_in": math.nan})
@example({"access_token": "a" * 30, "expires_in": math.inf})
@example({"access_token": "a b\r\n", "expires_in": 3600})
def test_token_responses_give_a_token_set_or_a_protocol_error(payload: Any) -> None:
    try:
        tokens = TokenSet.from_response(payload, now=NOW)
    except ProtocolError:
        return
    assert math.isfinite(tokens.expires_at) and tokens.expires_at >= NOW
    assert tokens.access_token.isascii() and tokens.access_token.isprintable()
    assert " " not in tokens.access_token and repr(tokens)


@BOUNDED
@given(token_answers)
def test_parsing_a_token_http_answer_gives_tokens_or_a_typed_error(payload: Any) -> None:
    try:
        parse_token_response(response(200, dumps(payload)), NOW, "refresh_token")
    except OktaAuthError:
        pass


def test_json_nested_too_deeply_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="nested too deeply"):
        json_body(response(200, NESTED))
    assert isinstance(error_from_response(response(400, NESTED), NOW), ProtocolError)


@pytest.mark.parametrize(
    "value", [10**400, math.nan, math.inf, -math.inf, True, "3600s", None, [], {}], ids=repr
)
def test_a_token_set_needs_a_finite_expiry(value: object) -> None:
    from okta_nb_auth import ConfigError

    with pytest.raises(ConfigError, match="finite number"):
        TokenSet("a" * 30, value)  # type: ignore[arg-type]


# ----------------------------------------------------------------- error responses


@BOUNDED
@given(
    status=st.integers(min_value=400, max_value=599),
    body=st.one_of(st.binary(max_size=80), json_values.map(dumps)),
    reset=st.one_of(st.none(), st.text(max_size=20), numbers.map(str)),
    date=st.one_of(st.none(), st.text(max_size=40)),
)
@example(status=429, body=b"", reset="nan", date=None)  # NaN reached sleep() before
@example(status=429, body=b"", reset="inf", date=None)
@example(status=429, body=b"", reset="1e400", date="Thu, 01 Jan 9999 00:00:00 GMT")
def test_error_responses_become_typed_errors_and_finite_waits(
    status: int, body: bytes, reset: str | None, date: str | None
) -> None:
    headers = {k: v for k, v in {"X-Rate-Limit-Reset": reset, "Date": date}.items() if v}
    try:
        answer = response(status, body, **headers)
    except (UnicodeEncodeError, ValueError):
        return  # httpx itself refuses such a header: no server can send it
    error = error_from_response(answer, NOW, "refresh_token")
    assert isinstance(error, OktaAuthError) and str(error)
    if isinstance(error, RateLimited):
        assert error.retry_at is None or math.isfinite(error.retry_at)
    auth = OktaAuth(OktaConfig(ISSUER, CLIENT_ID), clock=lambda: NOW)
    if isinstance(error, RateLimited):
        delay = auth._backoff(0, error)
        assert delay is None or (math.isfinite(delay) and delay >= 0)  # time.sleep accepts it


# ----------------------------------------------------------------- configuration


issuers = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda s, rest: s + rest, st.sampled_from(["https://", "http://"]), st.text(max_size=40)
    ),
    st.sampled_from(
        [
            "http://[::1",
            "https://example.okta.com:99999",
            "https://exa mple.okta.com",
            "https://example.okta.com\x00/oauth2/default",
            "https://ex\u00e4mple.okta.com",
            "https://xn--.okta.com",
            "https://example.okta.com:abc",
            "https://" + "a" * 300 + ".com",
        ]
    ),
    json_values,
)


@BOUNDED
@given(
    issuer=issuers,
    client_id=st.one_of(st.text(max_size=20), json_values),
    secret=st.one_of(st.none(), st.text(max_size=20), json_values),
    scopes=st.one_of(st.text(max_size=20), st.lists(st.text(max_size=8), max_size=3), json_values),
    redirect=st.one_of(st.none(), issuers),
)
def test_configs_are_valid_or_refused_with_a_config_error(
    issuer: Any, client_id: Any, secret: Any, scopes: Any, redirect: Any
) -> None:
    try:
        config = OktaConfig(issuer, client_id, secret, scopes=scopes, redirect_uri=redirect)
    except OktaAuthError:
        return
    # Accepted means usable: the first request cannot fail on the URL.
    httpx.Request("GET", config.issuer + "/.well-known/openid-configuration")
    if config.redirect_uri is not None:
        httpx.URL(config.redirect_uri)
    assert repr(config) and all(isinstance(s, str) and s for s in config.scopes)


@BOUNDED
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "OKTA_ISSUER",
                "OKTA_DOMAIN",
                "OKTA_CLIENT_ID",
                "OKTA_CLIENT_SECRET",
                "OKTA_SCOPES",
                "OKTA_REDIRECT_URI",
            ]
        ),
        st.one_of(st.text(max_size=40), issuers.filter(lambda v: isinstance(v, str))),
    )
)
def test_configs_from_the_environment_are_valid_or_refused(environ: dict[str, str]) -> None:
    try:
        config = OktaConfig.from_env(environ)
    except OktaAuthError:
        return
    httpx.URL(config.issuer)


# ----------------------------------------------------------------- discovery and keys


@BOUNDED
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"issuer": st.just(ISSUER)},
            optional={
                "token_endpoint": st.one_of(issuers, st.just(ISSUER + "/v1/token")),
                "jwks_uri": st.one_of(issuers, st.just(ISSUER + "/v1/keys")),
                "revocation_endpoint": issuers,
            },
        ),
    )
)
def test_discovery_documents_are_valid_or_refused(doc: Any) -> None:
    url = ISSUER + "/.well-known/openid-configuration"
    try:
        metadata = parse_metadata(ISSUER, response(200, dumps(doc), url))
    except OktaAuthError:
        return
    httpx.Request("POST", metadata.token_endpoint)
    httpx.Request("GET", metadata.jwks_uri)


def test_discovery_nested_too_deeply_is_refused() -> None:
    url = ISSUER + "/.well-known/openid-configuration"
    with pytest.raises(OktaAuthError):
        parse_metadata(ISSUER, response(200, NESTED, url))


def good_key(kid: str = "k1") -> dict[str, Any]:
    return jwk(kid)


def spoiled_key(key: dict[str, Any], name: str, value: object) -> dict[str, Any]:
    return {**key, name: value, "kid": "spoiled"}


@BOUNDED
@given(
    name=st.sampled_from(["n", "e", "kty", "alg", "use", "kid", "d", "x5c"]),
    value=json_values,
    extra=st.lists(json_values, max_size=3),
)
@example(name="n", value="!!!", extra=[])  # jwt.InvalidKeyError, which broke every key before
@example(name="n", value=5, extra=[])
def test_one_bad_key_never_breaks_the_good_one(name: str, value: Any, extra: list[Any]) -> None:
    keys = [spoiled_key(good_key(), name, value), *extra, good_key()]
    url = ISSUER + "/v1/keys"
    parsed = JWKSCache(url).parse(response(200, dumps({"keys": keys}), url))
    assert "k1" in parsed


@BOUNDED
@given(json_values)
def test_any_key_set_gives_keys_or_a_typed_error(body: Any) -> None:
    url = ISSUER + "/v1/keys"
    try:
        JWKSCache(url).parse(response(200, dumps(body), url))
    except OktaAuthError:
        pass


# ----------------------------------------------------------------- tokens to verify


@pytest.fixture(scope="module")
def keys_client() -> Any:
    with httpx.Client(transport=FakeOkta().transport()) as client:
        yield client


def verifier() -> TokenVerifier:
    return TokenVerifier(
        OktaConfig(ISSUER, CLIENT_ID), discovery=DiscoveryCache(), clock=lambda: NOW
    )


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@BOUNDED
@given(st.one_of(st.text(max_size=200), st.binary(max_size=100).map(b64)))
@example(b64(NESTED) + ".e30.sig")  # a header nested too deeply
@example(b64(b'{"alg":"RS256","kid":["k1"]}') + ".e30.sig")  # an unhashable kid
@example("\u00e9\u00e9.\u00e9.\u00e9")
def test_arbitrary_strings_are_not_tokens(keys_client: httpx.Client, token: str) -> None:
    with pytest.raises(TokenVerificationError):
        verifier().verify_id_token(token, keys_client)


time_values = st.one_of(numbers, st.text(max_size=8), st.booleans(), st.none())


@BOUNDED
@given(
    changes=st.dictionaries(
        st.sampled_from(
            ["exp", "iat", "nbf", "auth_time", "aud", "iss", "sub", "nonce", "at_hash"]
        ),
        st.one_of(time_values, json_values),
        max_size=4,
    )
)
@example(changes={"exp": 10**400})  # OverflowError before
@example(changes={"exp": math.nan})  # "never expires" before
@example(changes={"iat": math.inf})
@example(changes={"exp": "tomorrow"})
def test_signed_tokens_with_hostile_claims_verify_or_are_rejected(
    keys_client: httpx.Client, changes: dict[str, Any]
) -> None:
    claims = {**id_claims(NOW), **changes}
    try:
        token = sign(claims)
    except (TypeError, ValueError, OverflowError):
        return  # PyJWT cannot even encode it (NaN, huge ints): no server could send it
    try:
        verified = verifier().verify_id_token(token, keys_client, access_token="a" * 30)
    except TokenVerificationError:
        return
    assert math.isfinite(float(verified["exp"])) and math.isfinite(float(verified["iat"]))
