"""Authlib's OAuth 2.0 clients against the dev server, unpatched: proof that the server is not
only compatible with our own client.

Authorization code with PKCE (S256) for the native app, signing in through the dev server's
own page; refresh under ROTATE with grace period 0 (sync and async, several expiries, no
``invalid_grant``); client credentials for the service app with the secret in the Basic
header and in the body; revocation. Endpoints come from the discovery document.
"""

from __future__ import annotations

import ssl
import time
import warnings
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from flow_helpers import loopback_config, sign_in

from okta_nb_auth.devserver import DevServer

ADA, ADA_PASSWORD = "ada@example.com", "analytical-engine"
TTL = 300

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Authlib 1.9 says its httpx module is deprecated
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client

pytestmark = pytest.mark.filterwarnings("ignore:The httpx module is deprecated")


def discovery(dev: DevServer) -> dict[str, Any]:
    return dict(httpx.get(dev.issuer + "/.well-known/openid-configuration").json())


def refreshes(dev: DevServer) -> list[tuple[int, str | None]]:
    return [(e.status, e.error) for e in dev.events if e.grant_type == "refresh_token"]


@pytest.fixture
def strict(fresh_dev: DevServer) -> Iterator[DevServer]:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=TTL)
    yield fresh_dev


def authlib_login(dev: DevServer) -> tuple[dict[str, Any], str]:
    """A PKCE login done by Authlib: its token dict and the redirect URI used."""
    config = loopback_config(dev)
    meta = discovery(dev)
    with OAuth2Client(
        client_id=config.client_id,
        redirect_uri=config.redirect_uri,
        scope="openid profile email offline_access",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    ) as client:
        verifier = "v" * 20 + str(time.time_ns()) + "x" * 30
        url, _state = client.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier
        )
        back = sign_in(url, ADA, ADA_PASSWORD, follow=False).headers["Location"]
        token = client.fetch_token(
            meta["token_endpoint"], authorization_response=back, code_verifier=verifier
        )
    return dict(token), str(config.redirect_uri)


def test_authorization_code_with_pkce(strict: DevServer) -> None:
    token, _ = authlib_login(strict)
    assert {"access_token", "refresh_token", "id_token", "expires_in"} <= set(token)
    whoami = httpx.get(
        strict.api_url + "/whoami", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert whoami.status_code == 200 and whoami.json()["sub"] == ADA


def test_refresh_under_rotation_grace_zero(strict: DevServer) -> None:
    token, _ = authlib_login(strict)
    meta = discovery(strict)
    kept: list[dict[str, Any]] = []
    client = OAuth2Client(
        client_id=strict.app("native").client_id,
        token={**token, "expires_at": int(time.time()) + TTL},
        token_endpoint=meta["token_endpoint"],
        token_endpoint_auth_method="none",
        update_token=lambda new, refresh_token=None, access_token=None: kept.append(dict(new)),
        leeway=60,
    )
    with client:
        for expiry in (1, 2, 3):
            strict.advance_clock(TTL)
            client.token["expires_at"] = int(time.time()) - 1  # Authlib reads its own clock
            assert client.get(strict.api_url + "/whoami").status_code == 200, expiry
    assert len(kept) == 3 and len({t["refresh_token"] for t in kept}) == 3  # each one rotated
    assert refreshes(strict) == [(200, None)] * 3


def test_async_refresh_under_rotation(strict: DevServer) -> None:
    token, _ = authlib_login(strict)
    meta = discovery(strict)

    async def run() -> int:
        async with AsyncOAuth2Client(
            client_id=strict.app("native").client_id,
            token={**token, "expires_at": int(time.time()) - 1},
            token_endpoint=meta["token_endpoint"],
            token_endpoint_auth_method="none",
        ) as client:
            strict.advance_clock(TTL)
            response = await client.get(strict.api_url + "/whoami")
            return response.status_code

    assert anyio.run(run) == 200
    assert refreshes(strict) == [(200, None)]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials_with_either_secret_method(dev: DevServer, method: str) -> None:
    config = dev.config("service")
    meta = discovery(dev)
    assert method in meta["token_endpoint_auth_methods_supported"]
    with OAuth2Client(
        client_id=config.client_id,
        client_secret=config.client_secret,
        token_endpoint_auth_method=method,
        scope="demo.read",
    ) as client:
        token = client.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        assert client.get(dev.api_url + "/reports").status_code == 200
    assert token["token_type"] == "Bearer" and "refresh_token" not in token
    [event] = [e for e in dev.events if e.grant_type == "client_credentials"][-1:]
    assert event.status == 200 and event.auth_method == method


def test_revocation_ends_the_refresh_token(strict: DevServer) -> None:
    token, _ = authlib_login(strict)
    meta = discovery(strict)
    with OAuth2Client(
        client_id=strict.app("native").client_id, token_endpoint_auth_method="none"
    ) as client:
        answer = client.revoke_token(
            meta["revocation_endpoint"], token=token["refresh_token"],
            token_type_hint="refresh_token",
        )  # fmt: skip
        assert answer.status_code == 200
        refused = httpx.post(
            meta["token_endpoint"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": token["refresh_token"],
                "client_id": strict.app("native").client_id,
            },
        )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_over_tls_with_the_dev_servers_ca_and_no_insecure_switch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)
    with DevServer(port=0, tls=True) as dev:
        assert dev.issuer.startswith("https://") and dev.ca_bundle is not None
        verify = ssl.create_default_context(cafile=dev.ca_bundle)
        config = dev.config("service")
        meta = httpx.get(dev.issuer + "/.well-known/openid-configuration", verify=verify).json()
        with OAuth2Client(
            client_id=config.client_id,
            client_secret=config.client_secret,
            scope="demo.read",
            verify=verify,
        ) as client:
            client.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
            assert client.get(dev.api_url + "/reports").status_code == 200
