"""Token verification: RS256 pinned, iss/aud/exp/nonce/sub for ID tokens; aud/scp/cid for access."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from fake_okta import CLIENT_ID, ISSUER, FakeOkta, access_claims, id_claims, rsa_key, sign

from okta_nb_auth import (
    ConfigError,
    DiscoveryCache,
    OktaConfig,
    TokenVerificationError,
    TokenVerifier,
    verify_access_token,
)

NOW = time.time()  # every token and every verifier here uses this instant, however late


def idc(**extra: Any) -> dict[str, Any]:
    return id_claims(NOW, **extra)


def acc(**extra: Any) -> dict[str, Any]:
    return access_claims(NOW, **extra)


@pytest.fixture
def fake() -> FakeOkta:
    return FakeOkta()


@pytest.fixture
def client(fake: FakeOkta) -> Iterator[httpx.Client]:
    with httpx.Client(transport=fake.transport()) as client:
        yield client


def verifier(config: OktaConfig | None = None, **kwargs: Any) -> TokenVerifier:
    config = config or OktaConfig(ISSUER, CLIENT_ID)
    kwargs.setdefault("clock", lambda: NOW)
    return TokenVerifier(config, discovery=DiscoveryCache(), **kwargs)


def test_valid_id_token(client: httpx.Client) -> None:
    claims = verifier().verify_id_token(sign(idc(nonce="n1")), client, nonce="n1")
    assert claims["sub"] == "00uada"


@pytest.mark.parametrize(
    ("claims", "needle"),
    [
        (idc(iss="https://evil.okta.com/oauth2/default"), "another authorization server"),
        (idc(aud="someone-else"), "another audience"),
        (idc(exp=int(NOW) - 121, iat=int(NOW) - 4000), "expired"),
        (idc(iat=int(NOW) + 600), "in the future"),
        ({k: v for k, v in idc().items() if k != "sub"}, "'sub'"),
    ],
)
def test_bad_id_token_claims(client: httpx.Client, claims: dict[str, Any], needle: str) -> None:
    token = sign(claims)
    with pytest.raises(TokenVerificationError, match=needle) as info:
        verifier().verify_id_token(token, client)
    assert token not in str(info.value) and token not in repr(info.value)


def test_leeway_accepts_a_slightly_expired_token(client: httpx.Client) -> None:
    token = sign(idc(exp=int(NOW) - 60, iat=int(NOW) - 3660))
    assert verifier().verify_id_token(token, client)["sub"] == "00uada"
    with pytest.raises(TokenVerificationError, match="expired"):
        verifier(leeway=10).verify_id_token(token, client)


def test_injected_clock_is_used(client: httpx.Client) -> None:
    token = sign(idc())
    later = verifier(clock=lambda: NOW + 7200)
    with pytest.raises(TokenVerificationError, match="expired"):
        later.verify_id_token(token, client)


def test_nonce(client: httpx.Client) -> None:
    with pytest.raises(TokenVerificationError, match="nonce"):
        verifier().verify_id_token(sign(idc(nonce="a")), client, nonce="b")
    with pytest.raises(TokenVerificationError, match="nonce"):
        verifier().verify_id_token(sign(idc()), client, nonce="b")


def test_refresh_rules_same_sub_same_nonce(client: httpx.Client) -> None:
    previous = {"sub": "00uada", "nonce": "n1"}
    v = verifier()
    assert v.verify_id_token(sign(idc()), client, previous=previous)
    with pytest.raises(TokenVerificationError, match="another user"):
        v.verify_id_token(sign(idc(sub="00ugrace")), client, previous=previous)
    with pytest.raises(TokenVerificationError, match="different nonce"):
        v.verify_id_token(sign(idc(nonce="n2")), client, previous=previous)


def test_algorithm_is_pinned(client: httpx.Client) -> None:
    # An attacker who knows the public key signs with HS256 using it as the HMAC secret;
    # a verifier that read 'alg' from the header would accept it.
    hs = jwt.encode(idc(), "not-the-rsa-key-but-long-enough-32b", algorithm="HS256",
                    headers={"kid": "k1"})  # fmt: skip
    with pytest.raises(TokenVerificationError, match="RS256"):
        verifier().verify_id_token(hs, client)
    unsigned = jwt.encode(idc(), None, algorithm="none", headers={"kid": "k1"})
    with pytest.raises(TokenVerificationError):
        verifier().verify_id_token(unsigned, client)


def test_wrong_key_and_unknown_kid(client: httpx.Client) -> None:
    forged = jwt.encode(idc(), rsa_key("other"), algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(TokenVerificationError, match="signature"):
        verifier().verify_id_token(forged, client)
    with pytest.raises(TokenVerificationError, match="signing key id"):
        verifier().verify_id_token(sign(idc(), kid="other"), client)


@pytest.mark.parametrize("garbage", ["", "not.a.jwt", "a.b", "eyJhbGciOiJSUzI1NiJ9.e30"])
def test_malformed(client: httpx.Client, garbage: str) -> None:
    with pytest.raises(TokenVerificationError):
        verifier().verify_id_token(garbage, client)


def test_translated_errors_chain_the_pyjwt_error(client: httpx.Client) -> None:
    with pytest.raises(TokenVerificationError) as info:
        verifier().verify_id_token(sign(idc(aud="x")), client)
    assert isinstance(info.value.__cause__, jwt.PyJWTError)


def test_access_token_default_audience(client: httpx.Client) -> None:
    claims = verifier().verify_access_token(sign(acc()), client, required_scopes=["demo.read"])
    assert claims["cid"] == CLIENT_ID


@pytest.mark.parametrize(
    ("claims", "kwargs", "needle"),
    [
        (acc(aud="api://other"), {}, "audience"),
        (acc(cid="0oaother"), {}, "another client"),
        (acc(), {"required_scopes": ["demo.write"]}, "demo.write"),
        (acc(scp="demo.read"), {"required_scopes": ["demo.read"]}, "demo.read"),
        (acc(exp=int(NOW) - 500), {}, "expired"),
    ],
)
def test_bad_access_tokens(
    client: httpx.Client, claims: dict[str, Any], kwargs: dict[str, Any], needle: str
) -> None:
    with pytest.raises(TokenVerificationError, match=needle):
        verifier().verify_access_token(sign(claims), client, **kwargs)


def test_access_token_other_clients_allowed_explicitly(client: httpx.Client) -> None:
    token = sign(acc(cid="0oaother"))
    assert verifier().verify_access_token(token, client, client_ids=["0oaother"])


def test_org_server_access_tokens_are_not_parsed(client: httpx.Client) -> None:
    with pytest.raises(ConfigError, match="org authorization server"):
        verifier(OktaConfig("https://example.okta.com", CLIENT_ID)).verify_access_token(
            sign(acc()), client
        )


def test_custom_server_without_known_audience_asks_for_it(client: httpx.Client) -> None:
    config = OktaConfig("https://example.okta.com/oauth2/aus1", CLIENT_ID)
    with pytest.raises(ConfigError, match="audience"):
        verifier(config).verify_access_token(sign(acc()), client)


def test_module_function(fake: FakeOkta, client: httpx.Client) -> None:
    config = OktaConfig(ISSUER, CLIENT_ID)
    claims = verify_access_token(sign(acc()), config, client=client)
    assert claims["sub"] == "ada@example.com"


@pytest.mark.anyio
async def test_async_twin(fake: FakeOkta) -> None:
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        claims = await verifier().averify_id_token(sign(idc()), client)
        access = await verifier().averify_access_token(sign(acc()), client)
    assert claims["aud"] == CLIENT_ID and access["aud"] == "api://default"
