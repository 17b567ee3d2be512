"""private_key_jwt apps: ``jwks`` in the config file and at run time, every endpoint that
authenticates clients, the generated key's channels, bounded replay memory, hostile input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from devserver_helpers import (
    JSON,
    JWT_BEARER,
    assert_error,
    assertion_fields,
    authorize_params,
    client,
    client_assertion,
    with_header,
)
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from okta_nb_auth.devserver import DevServer, SettingsError
from okta_nb_auth.devserver._assertions import SpentAssertions

CC = {"grant_type": "client_credentials", "scope": "demo.read"}
AUDIENCE = "The audience claim for client_assertion must be the endpoint invoked for the request."
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    return {**json.loads(algorithm.to_jwk(key.public_key())), "kid": kid}


def service_table(jwks: Any) -> dict[str, Any]:
    return {
        "application_type": "service",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": jwks,
    }


@pytest.fixture
def http(fresh_dev: DevServer) -> Iterator[httpx.Client]:
    with client(fresh_dev) as c:
        yield c


def endpoint(dev: DevServer, name: str) -> str:
    return f"{dev.issuer}/v1/{name}"


def as_app(dev: DevServer, app: str, name: str, **options: Any) -> dict[str, str]:
    return assertion_fields(dev, app, endpoint(dev, name), **options)


def test_token_introspect_and_revoke_each_want_their_own_url(
    fresh_dev: DevServer, http: httpx.Client
) -> None:
    dev = fresh_dev
    body = http.post(endpoint(dev, "token"), data={**CC, **as_app(dev, "service-jwt", "token")})
    check = {"token": body.json()["access_token"]}
    for name in ("introspect", "revoke"):  # an assertion for the token endpoint is not enough
        fields = as_app(dev, "service-jwt", "token")
        response = http.post(endpoint(dev, name), data={**check, **fields})
        assert_error(response, 401, "invalid_client", AUDIENCE)
    active = http.post(
        endpoint(dev, "introspect"), data={**check, **as_app(dev, "service-jwt", "introspect")}
    )
    assert active.status_code == 200 and active.json()["active"] is True
    revoked = http.post(
        endpoint(dev, "revoke"), data={**check, **as_app(dev, "service-jwt", "revoke")}
    )
    assert revoked.status_code == 200
    again = http.post(
        endpoint(dev, "introspect"), data={**check, **as_app(dev, "service-jwt", "introspect")}
    )
    assert again.json() == {"active": False}


def test_device_authorize_and_par_take_an_assertion(
    fresh_dev: DevServer, http: httpx.Client
) -> None:
    dev = fresh_dev
    native = dev.configure_app("native", token_endpoint_auth_method="private_key_jwt")
    web = dev.configure_app("web", token_endpoint_auth_method="private_key_jwt")
    assert native.private_key_pem and web.private_key_pem  # pairs made on the switch
    started = http.post(
        endpoint(dev, "device/authorize"),
        data={"scope": "openid", **as_app(dev, "native", "device/authorize")},
    )
    assert started.status_code == 200 and "device_code" in started.json()
    params = authorize_params(dev, "web")
    del params["client_id"]  # the assertion's sub names the client
    pushed = http.post(endpoint(dev, "par"), data={**params, **as_app(dev, "web", "par")})
    assert pushed.status_code == 201 and pushed.json()["request_uri"].startswith("urn:okta:")
    late = http.post(endpoint(dev, "par"), data={**params, **as_app(dev, "web", "token")})
    assert_error(late, 401, "invalid_client", AUDIENCE)
    assert [e.auth_method for e in dev.events[-3:]] == ["private_key_jwt"] * 3


def test_an_ec_key_in_jwks_signs_es256(fresh_dev: DevServer, http: httpx.Client) -> None:
    dev = fresh_dev
    app = dev.configure_app("service-jwt", jwks={"keys": [public_jwk(EC_KEY, "ec1")]})
    assert app.private_key_pem is None  # the user's own keys now: the made one would not match
    fields = as_app(dev, "service-jwt", "token", key=EC_KEY, alg="ES256", headers={"kid": "ec1"})
    assert http.post(endpoint(dev, "token"), data={**CC, **fields}).status_code == 200
    wrong = {**fields, "client_assertion": with_header(fields["client_assertion"], alg="ES384")}
    response = http.post(endpoint(dev, "token"), data={**CC, **wrong})
    text = "The client_assertion JWT signature algorithm is invalid."
    assert_error(response, 401, "invalid_client", text)


def test_without_a_kid_every_key_is_tried(fresh_dev: DevServer, http: httpx.Client) -> None:
    dev = fresh_dev
    keys = [public_jwk(EC_KEY, "ec1"), public_jwk(RSA_KEY, "rsa1")]
    dev.configure_app("service-jwt", jwks=json.dumps({"keys": keys}))  # inline JSON, as in TOML
    fields = as_app(dev, "service-jwt", "token", key=RSA_KEY, headers={"kid": None})
    assert http.post(endpoint(dev, "token"), data={**CC, **fields}).status_code == 200


def test_a_toml_app_with_inline_json_jwks(tmp_path: Path) -> None:
    jwks = json.dumps({"keys": [public_jwk(RSA_KEY, "k1")]})
    config = tmp_path / "okta.toml"
    config.write_text(
        "[apps.reporting]\napplication_type = 'service'\ngrant_types = ['client_credentials']\n"
        f"token_endpoint_auth_method = 'private_key_jwt'\njwks = '{jwks}'\n"
    )
    with DevServer(port=0, config=config) as dev, client(dev) as http:
        assert dev.app("reporting").private_key_pem is None
        fields = as_app(dev, "reporting", "token", key=RSA_KEY, headers={"kid": "k1"})
        assert http.post(endpoint(dev, "token"), data={**CC, **fields}).status_code == 200


def test_a_new_app_without_jwks_gets_a_key_pair_dev_config_carries() -> None:
    table = service_table(None)
    del table["jwks"]
    with DevServer(port=0, config={"apps": {"reporting": table}}) as dev:
        config = dev.config("reporting")
        assert config.token_endpoint_auth_method == "private_key_jwt"
        assert config.key_id == dev.app("reporting").jwks["keys"][0]["kid"]  # type: ignore[index]
        assert config.client_secret is None and config.private_key is not None


@pytest.mark.parametrize(
    ("jwks", "message"),
    [
        ("{not json", "jwks must be a JSON Web Key Set"),
        ({"keys": []}, "jwks must be a JSON Web Key Set"),
        ({"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}, "needs a 'kid'"),
        ({"keys": [{**public_jwk(RSA_KEY, "k"), "d": "secret"}]}, "public keys only"),
        ({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}, "public keys only"),
        ({"keys": [{"kty": "OKP", "kid": "k", "crv": "Ed25519", "x": "AA"}]}, "kty must be"),
        ({"keys": [{**public_jwk(RSA_KEY, "k"), "use": "enc"}]}, "'use' must be 'sig'"),
        ({"keys": [{"kty": "RSA", "kid": "k", "n": "!", "e": "AQAB"}]}, "not a valid RSA"),
        ({"keys": [public_jwk(RSA_KEY, "k"), public_jwk(EC_KEY, "k")]}, "unique kid"),
    ],
)
def test_bad_jwks_are_refused_with_the_reason(jwks: Any, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        DevServer(port=0, config={"apps": {"reporting": service_table(jwks)}})


def test_the_private_key_is_never_a_setting(fresh_dev: DevServer) -> None:
    with pytest.raises(SettingsError, match="unknown app setting"):
        fresh_dev.configure_app("service-jwt", private_key_pem="-----BEGIN PRIVATE KEY-----")
    with pytest.raises(SettingsError, match="needs jwks"):
        fresh_dev.configure_app("service-jwt", jwks=None)
    table = {**service_table({"keys": [public_jwk(RSA_KEY, "k")]}), "private_key_pem": "x"}
    with pytest.raises(SettingsError, match="private_key_pem is not a setting"):
        DevServer(port=0, config={"apps": {"reporting": table}})


def test_admin_lists_public_keys_and_hands_out_the_private_one_as_secrets(
    fresh_dev: DevServer,
) -> None:
    pem = fresh_dev.app("service-jwt").private_key_pem
    assert pem is not None and pem.startswith("-----BEGIN PRIVATE KEY-----")
    listing = httpx.get(fresh_dev.base_url + "/admin/apps").json()["service-jwt"]
    assert "private_key_pem" not in listing and listing["jwks"]["keys"][0]["kty"] == "RSA"
    one = httpx.get(fresh_dev.base_url + "/admin/apps/service-jwt").json()
    assert one["private_key_pem"] == pem  # like GET /admin/apps/web's client_secret
    changed = httpx.post(
        fresh_dev.base_url + "/admin/apps/service-jwt",
        json={"jwks": {"keys": [public_jwk(EC_KEY, "ec1")]}},
        headers=JSON,
    )
    assert changed.status_code == 200 and "private_key_pem" not in changed.json()
    assert fresh_dev.app("service-jwt").private_key_pem is None


def test_spent_assertions_are_bounded_and_forgotten_after_expiry() -> None:
    spent = SpentAssertions(limit=3)
    now = 1000.0
    assert spent.spend(("c", "a"), now + 10, now) and not spent.spend(("c", "a"), now + 10, now)
    assert spent.spend(("c", "b"), now + 100, now) and spent.spend(("c", "c"), now + 100, now)
    assert spent.spend(("c", "d"), now + 100, now + 20)  # "a" expired: dropped to make room
    assert not spent.spend(("c", "b"), now + 100, now + 20)
    assert spent.spend(("c", "e"), now + 100, now + 20)  # full of live ones: the oldest goes
    assert spent.spend(("c", "b"), now + 100, now + 20)
    assert spent.spend(("c", "a"), now + 10, now + 11)  # an expired one is no replay any more


@pytest.mark.parametrize(
    ("claims", "headers", "status"),
    [
        ({"exp": float("nan")}, {}, 401),
        ({"exp": float("inf")}, {}, 401),
        ({"exp": 10**400}, {}, 401),
        ({"aud": {"nested": [[[]]]}}, {}, 401),
        ({"iss": ["x"] * 1000}, {}, 401),
        ({}, {"kid": "k" * 20_000}, 401),
        ({}, {"kid": ["a", "b"]}, 401),
        ({}, {"crit": ["exp"]}, 401),
    ],
)
def test_hostile_assertions_get_oktas_errors_never_a_500(
    dev: DevServer, claims: dict[str, Any], headers: dict[str, Any], status: int
) -> None:
    token = client_assertion(dev, "service-jwt", endpoint(dev, "token"), headers=headers, **claims)
    data = {**CC, "client_assertion_type": JWT_BEARER, "client_assertion": token}
    with client(dev) as http:  # the checking client fails the test on a 500
        response = http.post(endpoint(dev, "token"), data=data)
    assert response.status_code == status and response.json()["error"] == "invalid_client"
