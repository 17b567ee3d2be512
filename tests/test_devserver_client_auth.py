"""Client authentication at the OAuth endpoints: Okta's checks and error texts (spec §2.2)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from devserver_helpers import (
    DEFAULT,
    GENERIC_CLIENT,
    assert_error,
    basic,
    client,
)

from okta_nb_auth.devserver import DevServer

MULTIPLE = (
    "Cannot supply multiple client credentials. Use one of the following: credentials in the "
    "Authorization header, credentials in the post body, or a client_assertion in the post body."
)
BAD_HEADER = "Found Authentication header but was not valid client credentials."
CC = {"grant_type": "client_credentials", "scope": "demo.read"}
ENDPOINTS = ["token", "introspect", "revoke", "device/authorize"]


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def _service(dev: DevServer) -> tuple[str, str]:
    app = dev.app("service")
    assert app.client_secret is not None
    return app.client_id, app.client_secret


def test_client_secret_basic(dev: DevServer, http: httpx.Client) -> None:
    cid, secret = _service(dev)
    response = http.post(f"{DEFAULT}/token", data=CC, headers={"Authorization": basic(cid, secret)})
    assert response.status_code == 200, response.text


def test_basic_with_body_client_id_equal_to_the_header(dev: DevServer, http: httpx.Client) -> None:
    cid, secret = _service(dev)
    response = http.post(
        f"{DEFAULT}/token",
        data={**CC, "client_id": cid},
        headers={"Authorization": basic(cid, secret)},
    )
    assert response.status_code == 200, response.text


def test_a_basic_app_also_takes_its_secret_in_the_body(dev: DevServer, http: httpx.Client) -> None:
    # Okta groups client_secret_basic and client_secret_post (spec §2.2); see
    # test_devserver_auth_methods.py for the event log and the strict setting.
    cid, secret = _service(dev)
    response = http.post(f"{DEFAULT}/token", data={**CC, "client_id": cid, "client_secret": secret})
    assert response.status_code == 200, response.status_code


def test_client_secret_post_app(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("service", token_endpoint_auth_method="client_secret_post")
    cid, secret = _service(fresh_dev)
    with client(fresh_dev) as http:
        posted = http.post(
            f"{DEFAULT}/token", data={**CC, "client_id": cid, "client_secret": secret}
        )
        assert posted.status_code == 200, posted.status_code
        header = http.post(
            f"{DEFAULT}/token", data=CC, headers={"Authorization": basic(cid, secret)}
        )
        assert header.status_code == 200, header.status_code


def test_basic_parts_are_form_decoded(fresh_dev: DevServer) -> None:
    secret = "s3cret+with/odd=chars%and space"
    fresh_dev.configure_app("service", client_secret=secret)
    cid = fresh_dev.app("service").client_id
    with client(fresh_dev) as http:
        response = http.post(
            f"{DEFAULT}/token", data=CC, headers={"Authorization": basic(cid, secret)}
        )
    assert response.status_code == 200, response.text


def test_public_client_may_not_send_a_secret(dev: DevServer, http: httpx.Client) -> None:
    response = http.post(
        f"{DEFAULT}/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": dev.app("native").client_id,
            "client_secret": "a-secret-it-does-not-have",
        },
    )
    assert_error(response, 401, "invalid_client", GENERIC_CLIENT)


def test_confidential_client_without_its_secret(dev: DevServer, http: httpx.Client) -> None:
    response = http.post(f"{DEFAULT}/token", data={**CC, "client_id": dev.app("service").client_id})
    assert_error(response, 401, "invalid_client", GENERIC_CLIENT)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_credentials(http: httpx.Client, endpoint: str) -> None:
    response = http.post(f"{DEFAULT}/{endpoint}", data={"token": "x", "scope": "openid"})
    assert_error(response, 401, "invalid_client", "No client credentials found.")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_unknown_client(http: httpx.Client, endpoint: str) -> None:
    response = http.post(
        f"{DEFAULT}/{endpoint}", data={"client_id": "0oaNOPE", "token": "x", "scope": "openid"}
    )
    assert_error(response, 401, "invalid_client", "Invalid value for 'client_id' parameter.")


def test_unknown_client_in_basic_header(http: httpx.Client) -> None:
    response = http.post(f"{DEFAULT}/token", data=CC, headers={"Authorization": basic("0oaX", "y")})
    assert_error(response, 401, "invalid_client", "Invalid value for 'client_id' parameter.")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_wrong_secret(dev: DevServer, http: httpx.Client, endpoint: str) -> None:
    cid, _ = _service(dev)
    response = http.post(
        f"{DEFAULT}/{endpoint}",
        data={"token": "x", **CC},
        headers={"Authorization": basic(cid, "not-the-secret-at-all")},
    )
    assert_error(
        response,
        401,
        "invalid_client",
        "The client secret supplied for a confidential client is invalid.",
    )


@pytest.mark.parametrize(
    "body",
    [
        {"client_secret": "anything-at-all"},
        {"client_id": "0oaSOMEONEELSE"},
        {"client_assertion": "eyJ.x.y"},
    ],
)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_credentials_in_header_and_body(
    dev: DevServer, http: httpx.Client, body: dict[str, str], endpoint: str
) -> None:
    cid, secret = _service(dev)
    response = http.post(
        f"{DEFAULT}/{endpoint}",
        data={**CC, "token": "x", **body},
        headers={"Authorization": basic(cid, secret)},
    )
    assert_error(response, 401, "invalid_request", MULTIPLE)


@pytest.mark.parametrize("name", ["client_secret", "client_assertion"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_credentials_in_the_query_string(
    dev: DevServer, http: httpx.Client, name: str, endpoint: str
) -> None:
    cid, secret = _service(dev)
    response = http.post(
        f"{DEFAULT}/{endpoint}",
        params={"client_id": cid, name: secret},
        data={**CC, "token": "x"},
    )
    assert_error(
        response,
        400,
        "invalid_request",
        "Client credentials cannot be supplied via query parameters.",
    )


@pytest.mark.parametrize(
    "header",
    [
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b":secret-without-id").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Bearer abc.def.ghi",
        "Digest username=x",
    ],
)
def test_malformed_authorization_header(http: httpx.Client, header: str) -> None:
    response = http.post(f"{DEFAULT}/token", data=CC, headers={"Authorization": header})
    assert_error(response, 401, "invalid_client", BAD_HEADER)


def test_a_client_assertion_that_does_not_parse(dev: DevServer, http: httpx.Client) -> None:
    # private_key_jwt is served (tests/test_private_key_jwt*.py); this one is no JWT at all.
    response = http.post(
        f"{DEFAULT}/token",
        data={
            **CC,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": "eyJ.x.y",
        },
    )
    assert_error(response, 401, "invalid_client", "The parsing of the client_assertion failed.")
