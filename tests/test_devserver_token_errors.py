"""Token-endpoint errors: Okta's shape, statuses, texts and headers (spec §2.2, §5.1)."""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import httpx
import pytest
from devserver_helpers import (
    CODE_INVALID,
    DEFAULT,
    ORG,
    assert_error,
    client,
    token,
)

from okta_nb_auth.devserver import DevServer

ALL_GRANTS = (
    "authorization_code, refresh_token, client_credentials, "
    "urn:ietf:params:oauth:grant-type:device_code"
)


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


@pytest.mark.parametrize("base", [DEFAULT, ORG])
def test_missing_grant_type(dev: DevServer, http: httpx.Client, base: str) -> None:
    response = token(http, dev, "web", {"scope": "openid"}, base)
    assert_error(
        response,
        400,
        "invalid_request",
        f"The token request must specify a 'grant_type'. Valid values: [{ALL_GRANTS}]",
    )


@pytest.mark.parametrize(
    "grant",
    [
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:openid:params:grant-type:ciba",
        "nonsense",
    ],
)
def test_unsupported_grant_type(dev: DevServer, http: httpx.Client, grant: str) -> None:
    response = token(http, dev, "web", {"grant_type": grant})
    assert_error(
        response,
        400,
        "unsupported_grant_type",
        "The authorization grant type is not supported by the authorization server. "
        f"Configured grant types: [{ALL_GRANTS}].",
    )


def test_grant_not_enabled_on_the_app(dev: DevServer, http: httpx.Client) -> None:
    response = token(
        http, dev, "web", {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}
    )
    assert_error(
        response,
        400,
        "unauthorized_client",
        "The client is not authorized to use the provided grant type. "
        "Configured grant types: [authorization_code, refresh_token].",
    )


def test_invalid_authorization_code(dev: DevServer, http: httpx.Client) -> None:
    data = {
        "grant_type": "authorization_code",
        "code": "x" * 43,
        "redirect_uri": "http://localhost:3000/api/auth/callback/okta",
    }
    assert_error(token(http, dev, "web", data), 400, "invalid_grant", CODE_INVALID)


def test_missing_redirect_uri(dev: DevServer, http: httpx.Client) -> None:
    response = token(http, dev, "web", {"grant_type": "authorization_code", "code": "x" * 43})
    assert_error(
        response, 400, "invalid_request", "The required parameter 'redirect_uri' is missing."
    )


def test_error_headers(dev: DevServer, http: httpx.Client) -> None:
    response = token(http, dev, "web", {"grant_type": "nonsense"})
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.headers["cache-control"] == "no-cache, no-store"
    assert response.headers["pragma"] == "no-cache"
    limit = int(response.headers["x-rate-limit-limit"])
    remaining = int(response.headers["x-rate-limit-remaining"])
    reset = int(response.headers["x-rate-limit-reset"])
    assert limit == 600
    assert 0 <= remaining < limit
    assert 0 < reset - dev.now() <= 60


def test_token_endpoint_is_post_only(http: httpx.Client) -> None:
    assert http.get(f"{DEFAULT}/token").status_code == 405


def test_date_header_follows_the_shifted_clock(fresh_dev: DevServer) -> None:
    fresh_dev.advance_clock(86400 * 365)
    with client(fresh_dev) as http:
        response = http.get(f"{DEFAULT}/keys")
    date = response.headers["date"]
    assert abs(parsedate_to_datetime(date).timestamp() - fresh_dev.now()) < 5
