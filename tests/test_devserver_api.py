"""The protected demo API: a resource server that checks bearer tokens (issue 2, demo API)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from devserver_helpers import ADA, DEFAULT, api, client, post

from okta_nb_auth.devserver import DevServer

REALM = 'Bearer realm="api://default"'


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def _service_token(http: httpx.Client, dev: DevServer, scope: str) -> str:
    response = post(
        http,
        dev,
        "service",
        f"{DEFAULT}/token",
        {"grant_type": "client_credentials", "scope": scope},
    )
    assert response.status_code == 200
    value: str = response.json()["access_token"]
    return value


@pytest.mark.parametrize("path", ["whoami", "measurements", "reports"])
def test_no_token_is_401_with_a_bare_challenge(http: httpx.Client, path: str) -> None:
    response = api(http, path, None)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(REALM)
    assert "error=" not in challenge  # RFC 6750 §3.1: no error code without a token


@pytest.mark.parametrize("path", ["whoami", "reports"])
@pytest.mark.parametrize("bad", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_bad_token_is_401_invalid_token(http: httpx.Client, path: str, bad: str) -> None:
    response = api(http, path, bad)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(REALM)
    assert 'error="invalid_token"' in challenge
    assert 'error_description="The access token is invalid."' in challenge


def test_tampered_token_is_401(dev: DevServer, http: httpx.Client) -> None:
    access = dev.login_as(ADA, "native").access_token
    header, payload, signature = access.split(".")
    flipped = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
    assert api(http, "whoami", f"{header}.{payload}.{flipped}").status_code == 401


def test_expired_token_is_401(fresh_dev: DevServer) -> None:
    access = fresh_dev.login_as(ADA, "native").access_token
    with client(fresh_dev) as http:
        assert api(http, "whoami", access).status_code == 200
        fresh_dev.advance_clock(3601)
        response = api(http, "whoami", access)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer realm="api://default", error="invalid_token", '
        'error_description="The access token has expired."'
    )


def test_expire_access_tokens_control(fresh_dev: DevServer) -> None:
    access = fresh_dev.login_as(ADA, "native").access_token
    assert fresh_dev.expire_access_tokens(ADA) == 1
    with client(fresh_dev) as http:
        response = api(http, "whoami", access)
    assert response.status_code == 401
    assert "expired" in response.headers["www-authenticate"]


def test_reports_needs_demo_read(dev: DevServer, http: httpx.Client) -> None:
    user_token = dev.login_as(ADA, "native").access_token
    response = api(http, "reports", user_token)
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="api://default", error="insufficient_scope", '
        "error_description=\"The access token must have the 'demo.read' scope.\", "
        'scope="demo.read"'
    )
    write_only = _service_token(http, dev, "demo.write")
    assert api(http, "reports", write_only).status_code == 403


def test_reports_with_demo_read(dev: DevServer, http: httpx.Client) -> None:
    response = api(http, "reports", _service_token(http, dev, "demo.read"))
    assert response.status_code == 200
    assert response.json() == {"year": 2026, "mean_temp_c": 11.35}


def test_user_token_with_demo_read(dev: DevServer, http: httpx.Client) -> None:
    access = dev.login_as(ADA, "native", "openid demo.read").access_token
    assert api(http, "reports", access).status_code == 200


def test_whoami_and_measurements(dev: DevServer, http: httpx.Client) -> None:
    access = dev.login_as(ADA, "native", "openid email").access_token
    who = api(http, "whoami", access)
    assert who.status_code == 200
    assert who.json() == {
        "sub": ADA,
        "client_id": dev.app("native").client_id,
        "scopes": ["openid", "email"],
    }
    rows = api(http, "measurements", access).json()["rows"]
    assert len(rows) == 12 and rows[0]["month"] == "2026-01"


def test_org_server_token_is_rejected(dev: DevServer, http: httpx.Client) -> None:
    access = dev.login_as(ADA, "native", org=True).access_token
    response = api(http, "whoami", access)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_id_token_is_not_an_access_token(dev: DevServer, http: httpx.Client) -> None:
    id_token = dev.login_as(ADA, "native").id_token
    assert id_token is not None
    assert api(http, "whoami", id_token).status_code == 401


def test_revoked_user_is_locked_out(fresh_dev: DevServer) -> None:
    tokens = fresh_dev.login_as(ADA, "native")
    others = fresh_dev.login_as("grace@example.com", "native")
    assert fresh_dev.revoke_user(ADA) == 1
    with client(fresh_dev) as http:
        assert api(http, "whoami", tokens.access_token).status_code == 401
        assert api(http, "whoami", others.access_token).status_code == 200
