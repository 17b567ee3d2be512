"""private_key_jwt at the dev server: client assertions (RFC 7523) checked as Okta checks them.

Every refusal is Okta's JSON with the status, error and text of ERR (oauth2-error-codes.json),
the ERR code as the event's detail, and never a 500 (the checking client fails the test on
one). The default ``service-jwt`` app signs with the key pair the dev server made at start.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from devserver_helpers import (
    GENERIC_CLIENT,
    JWT_BEARER,
    assert_error,
    assertion_fields,
    basic,
    client,
    client_assertion,
    with_header,
)

from okta_nb_auth.devserver import DevServer

CC = {"grant_type": "client_credentials", "scope": "demo.read"}
TEXTS = {
    "client_assertion_invalid_jwt": "The parsing of the client_assertion failed.",
    "client_assertion_invalid_signature_algorithm": (
        "The client_assertion JWT signature algorithm is invalid."
    ),
    "client_assertion_invalid_kid": "The client_assertion JWT kid is invalid.",
    "client_assertion_invalid_signature": "The client_assertion signature is invalid.",
    "client_assertion_invalid_issuer": (
        "The issuer claim for client_assertion is not a valid client_id."
    ),
    "client_assertion_invalid_subject": (
        "The subject claim for client_assertion is not a valid client_id."
    ),
    "client_assertion_invalid_audience": (
        "The audience claim for client_assertion must be the endpoint invoked for the request."
    ),
    "client_assertion_expiration_required": (
        "The client_assertion must contain the 'exp' claim as seconds since epoch."
    ),
    "client_assertion_expired_token": "The client_assertion token is expired.",
    "client_assertion_expires_too_far_in_future": (
        "The client_assertion token has an expiration too far into the future."
    ),
    "client_assertion_issued_at_in_future": (
        "The client_assertion token must be issued before the current time."
    ),
    "client_assertion_already_used": "The client_assertion token has already been used.",
    "client_assertion_jwks_not_configured": (
        "The client does not have a JWKSet configured, but the client_assertion requires one."
    ),
}
MULTIPLE = (
    "Cannot supply multiple client credentials. Use one of the following: credentials in the "
    "Authorization header, credentials in the post body, or a client_assertion in the post body."
)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class FromNow:
    """A time claim ``seconds`` from when the test runs (not from when it was collected)."""

    seconds: int

    def at_run_time(self) -> int:
        return int(time.time()) + self.seconds


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def url(dev: DevServer, endpoint: str = "token") -> str:
    return f"{dev.issuer}/v1/{endpoint}"


def send(
    http: httpx.Client, dev: DevServer, app: str = "service-jwt", **options: Any
) -> httpx.Response:
    """client_credentials with an assertion of ``app`` for the token endpoint."""
    return http.post(url(dev), data={**CC, **assertion_fields(dev, app, url(dev), **options)})


def refused(response: httpx.Response, dev: DevServer, code: str) -> None:
    assert_error(response, 401, "invalid_client", TEXTS[code])
    event = dev.events[-1]
    assert (event.endpoint, event.status, event.detail) == ("token", 401, code)


def test_a_signed_assertion_gets_a_token(dev: DevServer, http: httpx.Client) -> None:
    response = send(http, dev)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "demo.read"
    event = dev.events[-1]
    assert (event.app, event.auth_method, event.auth_mismatch) == (
        "service-jwt",
        "private_key_jwt",
        None,
    )


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"key": OTHER_KEY}, "client_assertion_invalid_signature"),
        ({"headers": {"kid": "not-a-key-of-this-app"}}, "client_assertion_invalid_kid"),
        ({"iss": "0oaSOMEONEELSE"}, "client_assertion_invalid_issuer"),
        ({"sub": "0oaSOMEONEELSE", "client_id": "x"}, "client_assertion_invalid_subject"),
        ({"aud": "http://127.0.0.1:1/oauth2/default/v1/token"}, "client_assertion_invalid_audience"),  # noqa: E501
        ({"exp": None}, "client_assertion_expiration_required"),
        ({"exp": "tomorrow"}, "client_assertion_expiration_required"),
        ({"exp": FromNow(-120)}, "client_assertion_expired_token"),
        ({"exp": FromNow(2 * 3600)}, "client_assertion_expires_too_far_in_future"),
        ({"iat": FromNow(600)}, "client_assertion_issued_at_in_future"),
        ({"nbf": FromNow(600)}, "client_assertion_issued_at_in_future"),
        ({"jti": 42}, "client_assertion_invalid_jwt"),
    ],
    ids=[
        "wrong-signature", "unknown-kid", "iss", "sub", "aud", "no-exp", "exp-not-a-number",
        "expired", "exp-too-far", "iat-in-future", "nbf-in-future", "jti-not-a-string",
    ],
)  # fmt: skip
def test_each_bad_assertion_gets_oktas_text(
    dev: DevServer, http: httpx.Client, options: dict[str, Any], code: str
) -> None:
    client_id = options.pop("client_id", None)
    claims = {k: v.at_run_time() if isinstance(v, FromNow) else v for k, v in options.items()}
    fields = assertion_fields(dev, "service-jwt", url(dev), **claims)
    data = {
        **CC,
        **fields,
        **({"client_id": dev.app("service-jwt").client_id} if client_id else {}),
    }
    refused(http.post(url(dev), data=data), dev, code)


def test_an_hour_ahead_is_the_limit_and_late_by_seconds_is_forgiven(
    dev: DevServer, http: httpx.Client
) -> None:
    now = int(time.time())
    assert send(http, dev, iat=now, exp=now + 3600).status_code == 200  # Authlib's default
    assert send(http, dev, iat=now - 20, exp=now - 5).status_code == 200  # within the leeway


def test_a_replayed_assertion_is_refused(dev: DevServer, http: httpx.Client) -> None:
    fields = assertion_fields(dev, "service-jwt", url(dev))
    assert http.post(url(dev), data={**CC, **fields}).status_code == 200
    refused(http.post(url(dev), data={**CC, **fields}), dev, "client_assertion_already_used")
    # The same jti in a new assertion is a replay too; without a jti Okta has nothing to track.
    jti = client_assertion(dev, "service-jwt", url(dev), jti="once")
    again = {"client_assertion_type": JWT_BEARER}
    assert http.post(url(dev), data={**CC, **again, "client_assertion": jti}).status_code == 200
    refused(send(http, dev, jti="once"), dev, "client_assertion_already_used")
    assert send(http, dev, jti=None).status_code == 200
    assert send(http, dev, jti=None).status_code == 200


@pytest.mark.parametrize(
    "assertion",
    [
        "",
        "not-a-jwt",
        "eyJ.x.y",
        "a.b.c.d.e",
        "W10.W10.x",
        "eyJhbGciOiJSUzI1NiJ9.W10.x",
    ],
)
def test_a_malformed_assertion(dev: DevServer, http: httpx.Client, assertion: str) -> None:
    data = {**CC, "client_assertion_type": JWT_BEARER, "client_assertion": assertion}
    data["client_id"] = dev.app("service-jwt").client_id
    refused(http.post(url(dev), data=data), dev, "client_assertion_invalid_jwt")


@pytest.mark.parametrize(
    "header",
    [{"alg": "none"}, {"alg": None}, {"alg": "PS256"}, {"alg": "ES256"}, {"alg": ["RS256"]}],
    ids=["none", "no-alg", "PS256", "ES256-with-an-RSA-key", "alg-not-a-string"],
)
def test_an_algorithm_okta_does_not_take(
    dev: DevServer, http: httpx.Client, header: dict[str, Any]
) -> None:
    forged = with_header(client_assertion(dev, "service-jwt", url(dev)), **header)
    data = {**CC, "client_assertion_type": JWT_BEARER, "client_assertion": forged}
    refused(http.post(url(dev), data=data), dev, "client_assertion_invalid_signature_algorithm")


def test_an_hmac_assertion_is_client_secret_jwt_which_is_not_offered(
    dev: DevServer, http: httpx.Client
) -> None:
    secret = "s" * 40
    response = send(http, dev, key=secret, alg="HS256")
    assert_error(response, 401, "invalid_client", GENERIC_CLIENT)
    assert dev.events[-1].auth_method == "client_secret_jwt"


@pytest.mark.parametrize(
    "value", ["", "client_secret", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"]
)
def test_a_wrong_assertion_type(dev: DevServer, http: httpx.Client, value: str) -> None:
    fields = assertion_fields(dev, "service-jwt", url(dev))
    response = http.post(url(dev), data={**CC, **fields, "client_assertion_type": value})
    assert_error(response, 400, "invalid_request", "The client_assertion_type is invalid.")
    assert dev.events[-1].detail == "client_assertion_type_invalid"


def test_an_assertion_with_a_secret_or_a_basic_header(dev: DevServer, http: httpx.Client) -> None:
    fields = assertion_fields(dev, "service-jwt", url(dev))
    with_secret = {**CC, **fields, "client_secret": "x" * 20}
    assert_error(http.post(url(dev), data=with_secret), 401, "invalid_request", MULTIPLE)
    service = dev.app("service")
    assert service.client_secret is not None
    header = {"Authorization": basic(service.client_id, service.client_secret)}
    response = http.post(url(dev), data={**CC, **fields}, headers=header)
    assert_error(response, 401, "invalid_request", MULTIPLE)


def test_an_app_without_jwks(dev: DevServer, http: httpx.Client) -> None:
    # The secret app "service" has no public keys: a signed assertion cannot be checked.
    fields = assertion_fields(dev, "service", url(dev), key=OTHER_KEY, headers={"kid": "k1"})
    refused(http.post(url(dev), data={**CC, **fields}), dev, "client_assertion_jwks_not_configured")
    assert dev.events[-1].auth_mismatch == "invalid_token_endpoint_auth_method"


def test_the_client_is_the_body_client_id_else_the_subject(
    dev: DevServer, http: httpx.Client
) -> None:
    fields = assertion_fields(dev, "service-jwt", url(dev), sub="0oaNOBODY000000000000", iss=None)
    refused(http.post(url(dev), data={**CC, **fields}), dev, "client_assertion_invalid_subject")
    fields = assertion_fields(dev, "service-jwt", url(dev))
    response = http.post(url(dev), data={**CC, **fields, "client_id": "0oaNOBODY000000000000"})
    assert_error(response, 401, "invalid_client", "Invalid value for 'client_id' parameter.")
    with_id = {**CC, **assertion_fields(dev, "service-jwt", url(dev))}
    with_id["client_id"] = dev.app("service-jwt").client_id
    assert http.post(url(dev), data=with_id).status_code == 200


def test_the_secret_of_a_private_key_jwt_app_is_refused(dev: DevServer, http: httpx.Client) -> None:
    data = {**CC, "client_id": dev.app("service-jwt").client_id, "client_secret": "x" * 40}
    assert_error(http.post(url(dev), data=data), 401, "invalid_client", GENERIC_CLIENT)
    assert dev.events[-1].detail == "invalid_token_endpoint_auth_method"
