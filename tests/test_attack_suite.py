"""The attack suite: forged and tampered tokens against the running dev server's keys.

Each row forges an access token (checked with ``verify_access_token``) or a refreshed ID token
(slipped into a real refresh answer by a transport between the session and the dev server).
Access tokens: a typed :class:`TokenVerificationError`, and at most two key-set fetches for the
whole suite (a forged ``kid`` cannot turn into a stream of requests to Okta). ID tokens: the
forged one is dropped, the real access and rotated refresh tokens are kept, and the next
refresh works (no ``invalid_grant``). README.md shows this table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_nb_auth import AuthSession, OktaAuth, OktaConfig, TokenVerificationError
from okta_nb_auth._verify import forget_issuer, verify_access_token
from okta_nb_auth.devserver import DevServer

ADA = "ada@example.com"
Forge = Callable[[str, dict[str, Any]], str]  # (a real token, the server's JWKS) -> forgery


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header = jwt.get_unverified_header(token)
    return header, jwt.decode(token, options={"verify_signature": False})


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: str = "") -> str:
    raw = [json.dumps(header).encode(), json.dumps(claims).encode()]
    return f"{b64(raw[0])}.{b64(raw[1])}.{signature}"


ATTACKER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def attacker_jwk() -> dict[str, Any]:
    return jwt.algorithms.RSAAlgorithm.to_jwk(ATTACKER.public_key(), as_dict=True)


def resigned(token: str, **header: Any) -> str:
    """The token's claims signed with the attacker's own key, under a chosen header."""
    old, claims = parts(token)
    return jwt.encode(claims, ATTACKER, algorithm="RS256", headers={**old, **header})


def alg_none(token: str, jwks: dict[str, Any]) -> str:
    header, claims = parts(token)
    return unsigned({**header, "alg": "none"}, claims)


def hmac_with_public_key(token: str, jwks: dict[str, Any]) -> str:
    header, claims = parts(token)
    key = jwt.PyJWK(jwks["keys"][0]).key
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = unsigned({**header, "alg": "HS256"}, claims).rsplit(".", 1)[0]
    signature = hmac.new(pem, body.encode(), hashlib.sha256).digest()
    return f"{body}.{b64(signature)}"


def tampered(token: str, jwks: dict[str, Any]) -> str:
    head, _, signature = token.split(".")
    _, claims = parts(token)
    claims["scp"] = [*claims.get("scp", []), "admin"]
    claims["sub"] = "mallory@example.com"
    return f"{head}.{b64(json.dumps(claims).encode())}.{signature}"


FORGERIES: dict[str, Forge] = {
    "alg-none": alg_none,
    "hs256-with-the-public-key": hmac_with_public_key,
    "tampered-claims": tampered,
    "attacker-key-same-kid": lambda t, k: resigned(t),
    "attacker-key-unknown-kid": lambda t, k: resigned(t, kid="attacker"),
    "jku-to-attacker-keys": lambda t, k: resigned(t, jku="https://evil.example/keys"),
    "x5u-to-attacker-cert": lambda t, k: resigned(t, x5u="https://evil.example/cert"),
    "embedded-jwk": lambda t, k: resigned(t, jwk=attacker_jwk()),
    "rs384-relabelled": lambda t, k: resigned(t, alg="RS384"),
    "signature-stripped": lambda t, k: t.rsplit(".", 1)[0] + ".",
}


def service_token(dev: DevServer, **form: str) -> str:
    config = dev.config("service")
    answer = httpx.post(
        config.issuer + "/v1/token",
        data={"grant_type": "client_credentials", "scope": "demo.read", **form},
        auth=(config.client_id, config.client_secret or ""),
    )
    return str(answer.json()["access_token"])


@pytest.fixture(scope="module")
def server() -> Iterator[DevServer]:
    with DevServer(port=0) as dev:
        yield dev


@pytest.fixture(scope="module")
def key_fetches(server: DevServer) -> Iterator[list[str]]:
    forget_issuer(server.issuer)
    yield []


def counting_client(fetches: list[str]) -> httpx.Client:
    def note(request: httpx.Request) -> None:
        if request.url.path.endswith("/v1/keys"):
            fetches.append(str(request.url))

    return httpx.Client(event_hooks={"request": [note]})


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_access_token_is_rejected(
    server: DevServer, key_fetches: list[str], forge: Forge
) -> None:
    config = server.config("service")
    real = service_token(server)
    jwks = httpx.get(config.issuer + "/v1/keys").json()
    with counting_client(key_fetches) as client:
        assert verify_access_token(real, config, client_ids=[config.client_id], client=client)
        with pytest.raises(TokenVerificationError):
            verify_access_token(forge(real, jwks), config, client_ids=[config.client_id],
                                client=client)  # fmt: skip
    assert len(key_fetches) <= 2  # across the whole suite: one fetch, one refetch for a kid


@pytest.mark.parametrize(
    ("claims", "needle"),
    [
        ({"iss": "https://evil.example/oauth2/default"}, "another authorization server"),
        ({"aud": "api://someone-else"}, "another audience"),
        ({"exp": time.time() - 3600}, "expired"),
        ({"cid": "0oa-another-app"}, "another client"),
    ],
    ids=["other-issuer", "other-audience", "expired", "other-client"],
)
def test_a_real_signature_on_the_wrong_claims_is_rejected(
    server: DevServer, claims: dict[str, Any], needle: str
) -> None:
    config = server.config("service")
    _, real = parts(service_token(server))
    forged = server.authority.servers["default"].access_keys.sign({**real, **claims})
    with pytest.raises(TokenVerificationError, match=needle):
        verify_access_token(forged, config, client_ids=[config.client_id])


def test_a_token_of_another_dev_server_is_rejected(server: DevServer) -> None:
    config = server.config("service")
    with DevServer(port=0) as other:
        foreign = service_token(other)
    with pytest.raises(TokenVerificationError):
        verify_access_token(foreign, config, client_ids=[config.client_id])


# ------------------------------------------------------- forged ID tokens in a refresh


class Forger(httpx.BaseTransport):
    """Real HTTP; the ID token of each refresh answer is replaced by a forgery of it."""

    def __init__(self, forge: Forge, jwks: dict[str, Any]) -> None:
        self.real, self.forge, self.jwks = httpx.HTTPTransport(), forge, jwks
        self.rotated: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.real.handle_request(request)
        if not request.url.path.endswith("/v1/token") or response.status_code != 200:
            return response
        body = json.loads(response.read())
        self.rotated.append(body["refresh_token"])
        body["id_token"] = self.forge(body["id_token"], self.jwks)
        return httpx.Response(200, json=body, request=request)

    def close(self) -> None:
        self.real.close()


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_id_token_in_a_refresh_is_dropped_and_the_tokens_kept(
    fresh_dev: DevServer, forge: Forge
) -> None:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=300)
    jwks = httpx.get(fresh_dev.issuer + "/v1/keys").json()
    forger = Forger(forge, jwks)
    login = fresh_dev.login_as(ADA)
    auth = OktaAuth(OktaConfig(fresh_dev.issuer, fresh_dev.app("native").client_id), login,
                    clock=fresh_dev.now)  # fmt: skip
    with AuthSession(auth.config, okta_auth=auth, transport=forger) as session:
        for expiry in (1, 2):
            fresh_dev.advance_clock(300)
            assert session.get(f"{fresh_dev.api_url}/whoami").status_code == 200
            assert session.tokens is not None
            assert session.tokens.refresh_token == forger.rotated[-1]
            assert session.tokens.id_token == login.id_token, expiry  # never the forgery
    statuses = [(e.status, e.error) for e in fresh_dev.events if e.grant_type == "refresh_token"]
    assert statuses == [(200, None), (200, None)]
