"""private_key_jwt in the client: ``OktaConfig(private_key=..., key_id=...)``, the assertion each
request carries, sessions against the dev server (client credentials, refresh, revoke, device,
PAR), Authlib's ``PrivateKeyJWT`` against the dev server unpatched, and no private key or
assertion in any repr, log record, event or page."""

from __future__ import annotations

import logging
import pickle
import warnings
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from test_secrets import assert_hidden, log_texts, surfaces
from test_secrets_surfaces import leaks

from okta_nb_auth import AuthSession, ConfigError, OktaAuthError, OktaConfig, PicklingRefused
from okta_nb_auth._protocol import client_credentials_request, device_authorize_request
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.logins._par import par_request

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Authlib 1.9 says its httpx module is deprecated
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

ADA = "ada@example.com"
ISSUER = "https://dev-123456.okta.com/oauth2/default"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = RSA_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()


def pem_of(key: Any, password: bytes | None = None) -> str:
    encryption: Any = serialization.NoEncryption()
    if password:
        encryption = serialization.BestAvailableEncryption(password)
    fmt = serialization.PrivateFormat.PKCS8
    return str(key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode())


def form_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


def test_a_private_key_makes_the_method_private_key_jwt_and_stays_hidden() -> None:
    config = OktaConfig(ISSUER, "0oaSERVICE", private_key=PEM, key_id="k1")
    assert config.auth_method == "private_key_jwt" and config.private_key == PEM
    shown = repr(config)
    assert "private_key='[masked]', key_id='k1'" in shown and "PRIVATE KEY" not in shown
    assert PEM.splitlines()[1] not in repr(config.private_key) + repr(vars(config))
    with pytest.raises(PicklingRefused, match="never pickled"):
        pickle.dumps(config)
    from_key = OktaConfig(ISSUER, "0oaSERVICE", private_key=RSA_KEY, key_id="k1")
    assert from_key.auth_method == "private_key_jwt" and from_key.private_key is RSA_KEY
    assert OktaConfig(ISSUER, "c", private_key=PEM.encode()).private_key == PEM


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n"}, "does not load as a PEM"),
        ({"private_key": "not a pem at all"}, "does not load as a PEM"),
        ({"private_key": pem_of(RSA_KEY, b"pw")}, "it is encrypted"),
        ({"private_key": 42}, "must be PEM text"),
        ({"private_key": pem_of(ed25519.Ed25519PrivateKey.generate())}, "not RSA or EC"),
        ({"private_key": pem_of(ec.generate_private_key(ec.SECP256K1()))}, "curve other than"),
        ({"private_key": PEM, "client_secret": "s" * 40}, "not both"),
        (
            {"private_key": PEM, "token_endpoint_auth_method": "client_secret_post"},
            "needs client_secret",
        ),
        ({"private_key": PEM, "token_endpoint_auth_method": "none"}, "is for 'private_key_jwt'"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "needs private_key"),
        ({"private_key": PEM, "key_id": ""}, "key_id must be"),
    ],
)
def test_a_bad_key_setting_is_a_config_error_without_the_key(
    kwargs: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ConfigError, match=needle) as info:
        OktaConfig(ISSUER, "0oaSERVICE", **kwargs)
    assert "MII" not in str(info.value)  # no base64 key material in the message


def test_each_request_carries_a_fresh_assertion_for_its_own_url() -> None:
    config = OktaConfig(ISSUER, "0oaSERVICE", private_key=PEM, key_id="k1")
    token_url, device_url = ISSUER + "/v1/token", ISSUER + "/v1/device/authorize"
    first, second = (client_credentials_request(config, token_url, ["demo.read"]) for _ in "ab")
    device = device_authorize_request(config, device_url)
    assert "Authorization" not in first.headers
    forms = [form_of(r) for r in (first, second, device)]
    public = RSA_KEY.public_key()
    for form, url in zip(forms, (token_url, token_url, device_url), strict=True):
        assert "client_secret" not in form and "client_id" not in form
        assert (
            form["client_assertion_type"]
            == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
        assertion = form["client_assertion"]
        assert jwt.get_unverified_header(assertion) == {"alg": "RS256", "kid": "k1", "typ": "JWT"}
        claims = jwt.decode(assertion, public, algorithms=["RS256"], audience=url)
        assert claims["iss"] == claims["sub"] == "0oaSERVICE"
        assert claims["exp"] - claims["iat"] == 300
    assert len({form["client_assertion"] for form in forms}) == 3
    assert (
        len(
            {
                jwt.decode(f["client_assertion"], options={"verify_signature": False})["jti"]
                for f in forms
            }
        )
        == 3
    )


def test_an_ec_key_signs_es256() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    config = OktaConfig(ISSUER, "0oaSERVICE", private_key=key)
    assertion = form_of(client_credentials_request(config, ISSUER + "/v1/token"))[
        "client_assertion"
    ]
    assert jwt.get_unverified_header(assertion) == {"alg": "ES256", "typ": "JWT"}  # no key_id
    jwt.decode(assertion, key.public_key(), algorithms=["ES256"], audience=ISSUER + "/v1/token")


def test_client_credentials_session_calls_the_api(fresh_dev: DevServer) -> None:
    config = fresh_dev.config("service-jwt", scopes=["demo.read"])
    with AuthSession.client_credentials(config) as session:
        assert session.get(fresh_dev.api_url + "/reports").status_code == 200
        fresh_dev.advance_clock(3601)  # the server's token expires; the wall clock signs on
        assert session.get(fresh_dev.api_url + "/reports").status_code == 200
    calls = [e for e in fresh_dev.events if e.grant_type == "client_credentials"]
    assert [(e.status, e.auth_method, e.app) for e in calls] == [
        (200, "private_key_jwt", "service-jwt")
    ] * 2


def test_refresh_revoke_device_and_par_with_private_key_jwt(fresh_dev: DevServer) -> None:
    dev = fresh_dev
    dev.configure_app("web", token_endpoint_auth_method="private_key_jwt")  # a pair is made
    config = dev.config("web")
    assert config.auth_method == "private_key_jwt" and config.client_secret is None
    with AuthSession(config, dev.login_as(ADA, "web")) as session:
        session.refresh()
        session.logout()  # revokes the refresh token with an assertion for /v1/revoke
    events = [(e.endpoint, e.grant_type, e.status, e.auth_method) for e in dev.events]
    assert ("token", "refresh_token", 200, "private_key_jwt") in events
    assert ("revoke", None, 200, "private_key_jwt") in events
    params = {
        "response_type": "code",
        "scope": "openid",
        "state": "s",
        "redirect_uri": config.redirect_uri or "",
    }
    dev.configure_app("native", token_endpoint_auth_method="private_key_jwt")
    device = device_authorize_request(dev.config("native"), dev.issuer + "/v1/device/authorize")
    with httpx.Client() as http:
        pushed = http.send(par_request(config, dev.issuer + "/v1/par", params))
        assert pushed.status_code == 201, pushed.text
        assert http.send(device).status_code == 200


def test_authlib_private_key_jwt_client_credentials(dev: DevServer) -> None:
    config = dev.config("service-jwt")
    meta = httpx.get(dev.issuer + "/.well-known/openid-configuration").json()
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    token_endpoint = meta["token_endpoint"]
    with OAuth2Client(
        client_id=config.client_id,
        client_secret=str(config.private_key),
        token_endpoint_auth_method=PrivateKeyJWT(token_endpoint),
        scope="demo.read",
    ) as client:
        token = client.fetch_token(token_endpoint, grant_type="client_credentials")
        assert client.get(dev.api_url + "/reports").status_code == 200
    assert token["token_type"] == "Bearer" and "refresh_token" not in token
    event = [e for e in dev.events if e.grant_type == "client_credentials"][-1]
    assert (event.status, event.auth_method) == (200, "private_key_jwt")


def test_no_private_key_or_assertion_shows_anywhere(
    fresh_dev: DevServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx, httpcore, uvicorn
    dev = fresh_dev
    pem = dev.app("service-jwt").private_key_pem or ""
    sent: list[str] = []

    def keep(request: httpx.Request) -> None:
        sent.extend(v for k, v in parse_qsl(request.content.decode()) if k == "client_assertion")

    config = dev.config("service-jwt", scopes=["demo.read"])
    texts: list[str] = []
    with AuthSession.client_credentials(config, event_hooks={"request": [keep]}) as session:
        assert session.get(dev.api_url + "/reports").status_code == 200
        texts += surfaces(session) + surfaces(session.okta_auth) + surfaces(config)
        assert leaks(session, {pem}) == [] and leaks(config, {pem}) == []
    wrong = dev.config("service-jwt", private_key=pem_of(RSA_KEY))
    with AuthSession.client_credentials(wrong) as bad, pytest.raises(OktaAuthError) as info:
        bad.get(dev.api_url + "/reports")
    assert info.value.error == "invalid_client"
    texts += [*surfaces(info.value), repr(info.value.args), *surfaces(wrong)]
    texts += [repr(dev.events), repr(dev.app("service-jwt")), repr(vars(dev.app("service-jwt")))]
    texts += [httpx.get(dev.base_url + path).text for path in ("/", "/admin/apps", "/admin/events")]
    texts += log_texts(caplog.records)
    assert sent, "no assertion was captured: the scan would pass vacuously"
    body = "".join(pem.splitlines()[1:-1])  # the key material without its PEM armour
    assert_hidden(texts, {pem, body[:64], body[-64:], *sent, PEM.splitlines()[1]})
