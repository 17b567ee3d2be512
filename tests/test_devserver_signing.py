"""The dev server's signing: the prepared key gives the bytes ``jwt.encode`` gives, and tokens of
the token endpoint's hot path (refresh, client credentials) verify against the published JWKS
with Okta's ``{"alg", "kid"}`` header."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from devserver_helpers import ADA, ORG, client, jwks, refresh, token, verify

from okta_nb_auth.devserver import DevServer
from okta_nb_auth.devserver._keys import KeyRing, _new_key

CLAIM_SETS = [
    {"sub": "x"},
    {"ver": 1, "jti": "AT.abc", "iss": "http://127.0.0.1:1/oauth2/default", "scp": ["a", "b"]},
    {"name": "Zoë Ångström ✓", "groups": ["Everyone"], "email_verified": True, "n": None},
    {"nested": {"b": 2, "a": 1}, "f": 1.5, "i": -3},
]


def _header(token_value: str) -> dict[str, Any]:
    segment = token_value.split(".")[0]
    raw: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return raw


@pytest.mark.parametrize("claims", CLAIM_SETS)
def test_prepared_key_signs_the_bytes_pyjwt_signs(claims: dict[str, Any]) -> None:
    key = _new_key("ACTIVE")
    expected = jwt.encode(
        claims, key.private, algorithm="RS256", headers={"kid": key.kid, "typ": None}
    )
    assert key.sign(claims) == expected  # RS256 (PKCS#1 v1.5) is deterministic


def test_header_is_alg_and_kid_only() -> None:
    ring = KeyRing()
    signed = ring.sign({"sub": "x"})
    kid = ring.jwks()["keys"][0]["kid"]
    assert _header(signed) == {"alg": "RS256", "kid": kid}
    assert (
        signed.split(".")[0]
        == jwt.utils.base64url_encode(b'{"alg":"RS256","kid":"' + kid.encode() + b'"}').decode()
    )
    assert ring.decode(signed) == {"sub": "x"}


def test_rotation_signs_with_the_new_active_key() -> None:
    ring = KeyRing()
    first = ring.sign({"sub": "x"})
    new_kid = ring.rotate()
    second = ring.sign({"sub": "x"})
    assert _header(second)["kid"] == new_kid != _header(first)["kid"]
    assert ring.decode(first) == ring.decode(second) == {"sub": "x"}  # old key still published
    ring.rotate()
    with pytest.raises(jwt.InvalidKeyError):
        ring.decode(first)  # its key has left the key set


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def test_client_credentials_token_verifies_with_the_jwks(
    dev: DevServer, http: httpx.Client
) -> None:
    response = token(
        http, dev, "service", {"grant_type": "client_credentials", "scope": "demo.read"}
    )
    assert response.status_code == 200, response.text
    access = response.json()["access_token"]
    keys = jwks(http)
    assert _header(access) == {"alg": "RS256", "kid": keys.keys[0].key_id}
    claims = verify(access, keys, audience="api://default", issuer=dev.issuer)
    assert list(claims) == "ver jti iss aud iat exp cid scp sub".split()
    assert claims["sub"] == claims["cid"] == dev.app("service").client_id
    assert claims["scp"] == ["demo.read"]


@pytest.mark.parametrize("org", [False, True], ids=["custom", "org"])
def test_refreshed_tokens_verify_with_the_jwks(
    dev: DevServer, http: httpx.Client, org: bool
) -> None:
    server = "org" if org else "default"
    login = dev.controls.login_as(ADA, app="web", server=server)
    base = ORG if org else "/oauth2/default/v1"
    response = refresh(http, dev, "web", login["refresh_token"], base=base)
    assert response.status_code == 200, response.text
    body = response.json()
    keys = jwks(http, base)
    issuer = dev.org_issuer if org else dev.issuer
    client_id = dev.app("web").client_id
    id_claims = verify(body["id_token"], keys, audience=client_id, issuer=issuer)
    assert _header(body["id_token"]) == {"alg": "RS256", "kid": keys.keys[0].key_id}
    assert id_claims["sub"].startswith("00u") and id_claims["email"] == ADA
    if not org:  # the org server signs access tokens with a key it does not publish
        claims = verify(body["access_token"], keys, audience="api://default", issuer=issuer)
        assert claims["sub"] == ADA
        assert list(claims) == "ver jti iss aud iat exp cid uid scp auth_time sub".split()
    assert set(_header(body["access_token"])) == {"alg", "kid"}
