"""JWT claim sets (spec §3), verified with PyJWT against the JWKS fetched over HTTP, and keys."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from devserver_helpers import (
    ADA,
    B64URL_43,
    DEFAULT,
    ORG,
    api,
    client,
    code_flow,
    jwks,
    refresh,
    verify,
)

from okta_nb_auth.devserver import DevServer


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


@pytest.fixture(scope="module")
def login(dev: DevServer) -> dict[str, Any]:
    with client(dev) as c:
        return code_flow(c, dev, "native", nonce="n0nce-value")


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def test_access_token_claims(dev: DevServer, http: httpx.Client, login: dict[str, Any]) -> None:
    header = jwt.get_unverified_header(login["access_token"])
    assert header["alg"] == "RS256"
    assert header["kid"] in {key.key_id for key in jwks(http).keys}
    claims = verify(login["access_token"], jwks(http), audience="api://default", issuer=dev.issuer)
    live_order = "ver jti iss aud iat exp cid uid scp auth_time sub".split()
    assert list(claims) == live_order
    assert claims["ver"] == 1
    assert claims["jti"].startswith("AT.")
    assert B64URL_43.match(claims["jti"].split(".")[1])
    assert claims["iss"] == dev.issuer
    assert claims["aud"] == "api://default"  # a string, not a list
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["cid"] == dev.app("native").client_id
    assert claims["uid"].startswith("00u") and len(claims["uid"]) == 20
    assert claims["scp"] == ["openid", "profile", "email", "offline_access"]
    assert claims["sub"] == ADA  # the login, not the user ID
    assert isinstance(claims["auth_time"], int)
    assert claims["auth_time"] <= claims["iat"]


def test_id_token_claims(dev: DevServer, http: httpx.Client, login: dict[str, Any]) -> None:
    cid = dev.app("native").client_id
    claims = verify(login["id_token"], jwks(http), audience=cid, issuer=dev.issuer)
    access = jwt.decode(login["access_token"], options={"verify_signature": False})
    assert claims["sub"] == access["uid"]
    assert claims["sub"].startswith("00u")
    assert claims["aud"] == cid
    assert claims["ver"] == 1
    assert claims["jti"].startswith("ID.")
    assert claims["nonce"] == "n0nce-value"
    assert claims["at_hash"] == _at_hash(login["access_token"])
    assert claims["amr"] == ["pwd"]
    assert claims["idp"].startswith("00o") and len(claims["idp"]) == 20
    assert claims["auth_time"] == access["auth_time"]
    assert claims["exp"] - claims["iat"] == 3600
    # Code flow: only a few profile claims in the ID token; the rest come from /userinfo.
    assert claims["email"] == ADA
    assert claims["name"] == "Ada Lovelace"
    assert claims["preferred_username"] == ADA
    assert "given_name" not in claims and "email_verified" not in claims


def test_id_token_without_profile_scopes_has_no_profile_claims(
    dev: DevServer, http: httpx.Client
) -> None:
    body = code_flow(http, dev, "native", scope="openid")
    cid = dev.app("native").client_id
    claims = verify(body["id_token"], jwks(http), audience=cid, issuer=dev.issuer)
    assert "email" not in claims and "name" not in claims
    assert "nonce" not in claims  # none was sent


def test_no_id_token_without_openid(dev: DevServer, http: httpx.Client) -> None:
    body = code_flow(http, dev, "native", scope="profile offline_access")
    assert "id_token" not in body
    assert "refresh_token" in body


def test_refresh_tokens_are_43_char_base64url(dev: DevServer, login: dict[str, Any]) -> None:
    assert B64URL_43.match(login["refresh_token"])
    assert "." not in login["refresh_token"]  # opaque, not a JWT


def test_org_server_tokens(dev: DevServer, http: httpx.Client) -> None:
    body = code_flow(http, dev, "web", base=ORG)
    cid = dev.app("web").client_id
    claims = verify(body["id_token"], jwks(http, ORG), audience=cid, issuer=dev.base_url)
    assert claims["iss"] == dev.base_url
    # The org server's access tokens are for Okta only: their key is not published.
    kid = jwt.get_unverified_header(body["access_token"])["kid"]
    assert kid not in {key.key_id for key in jwks(http, ORG).keys}
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert access["aud"] == dev.base_url
    assert api(http, "whoami", body["access_token"]).status_code == 401  # not for the demo API


def test_key_rotation(fresh_dev: DevServer) -> None:
    with client(fresh_dev) as http:
        before = jwks(http)
        before_kids = [key.key_id for key in before.keys]
        old = code_flow(http, fresh_dev, "native")
        old_kid = jwt.get_unverified_header(old["access_token"])["kid"]
        response = http.post("/admin/rotate_keys", json={})
        assert response.status_code == 200
        new_kid = response.json()["kid"]
        assert new_kid != old_kid
        assert new_kid in before_kids  # NEXT was published before it became ACTIVE
        after = jwks(http)
        after_kids = [key.key_id for key in after.keys]
        assert old_kid in after_kids  # EXPIRED, still published
        assert len(after_kids) == 3
        new = code_flow(http, fresh_dev, "native")
        assert jwt.get_unverified_header(new["access_token"])["kid"] == new_kid
        assert jwt.get_unverified_header(new["id_token"])["kid"] == new_kid
        cid = fresh_dev.app("native").client_id
        for tokens in (old, new):
            verify(tokens["access_token"], after, audience="api://default", issuer=fresh_dev.issuer)
            verify(tokens["id_token"], after, audience=cid, issuer=fresh_dev.issuer)
            assert api(http, "whoami", tokens["access_token"]).status_code == 200
        # A refresh after rotation signs with the new key.
        renewed = refresh(http, fresh_dev, "native", old["refresh_token"]).json()
        assert jwt.get_unverified_header(renewed["access_token"])["kid"] == new_kid


def test_second_rotation_retires_the_oldest_key(fresh_dev: DevServer) -> None:
    with client(fresh_dev) as http:
        old = code_flow(http, fresh_dev, "native")
        old_kid = jwt.get_unverified_header(old["access_token"])["kid"]
        fresh_dev.rotate_keys()
        fresh_dev.rotate_keys()
        kids = {key.key_id for key in jwks(http).keys}
        assert old_kid not in kids
        assert len(kids) == 3
        assert api(http, "whoami", old["access_token"]).status_code == 401


def test_rotating_the_org_server_leaves_the_custom_server_alone(fresh_dev: DevServer) -> None:
    with client(fresh_dev) as http:
        custom = {key.key_id for key in jwks(http, DEFAULT).keys}
        org = {key.key_id for key in jwks(http, ORG).keys}
        response = http.post("/admin/rotate_keys", json={"server": "org"})
        assert response.status_code == 200
        assert {key.key_id for key in jwks(http, DEFAULT).keys} == custom
        assert {key.key_id for key in jwks(http, ORG).keys} != org


def test_tokens_minted_on_a_shifted_clock(fresh_dev: DevServer) -> None:
    fresh_dev.advance_clock(3 * 3600)
    with client(fresh_dev) as http:
        body = code_flow(http, fresh_dev, "native")
        claims = verify(
            body["access_token"],
            jwks(http),
            audience="api://default",
            issuer=fresh_dev.issuer,
            verify_iat=False,
        )
        assert abs(claims["iat"] - fresh_dev.now()) < 5
        assert api(http, "whoami", body["access_token"]).status_code == 200
