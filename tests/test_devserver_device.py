"""Device authorization: /v1/device/authorize, polling, and the /activate page (spec §2.4)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from devserver_helpers import (
    ADA,
    ADA_PASSWORD,
    DEFAULT,
    DEVICE_GRANT,
    GRACE,
    INVALID_SCOPE,
    SCOPES,
    assert_error,
    client,
    device_poll,
    device_start,
    jwks,
    post,
    verify,
)

from okta_nb_auth.devserver import DevServer

PENDING = "The device authorization is pending. Please try again later."
SLOW_DOWN = "Slow down the polling frequency. Please try again later."
DEVICE_INVALID = "The device code is invalid or has expired."


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def _activate(
    http: httpx.Client, user_code: str, username: str = ADA, password: str = ADA_PASSWORD
) -> httpx.Response:
    """Fill in and submit the /activate form as a person would."""
    page = http.get("/activate", params={"user_code": user_code})
    assert page.status_code == 200
    assert f'name=user_code value="{user_code}"' in page.text
    return http.post(
        "/activate",
        data={
            "user_code": user_code,
            "username": username,
            "password": password,
            "action": "allow",
        },
    )


def test_device_authorize_response(dev: DevServer, http: httpx.Client) -> None:
    response = post(http, dev, "native", f"{DEFAULT}/device/authorize", {"scope": SCOPES})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache, no-store"
    body = response.json()
    assert set(body) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    uuid.UUID(body["device_code"])
    assert re.fullmatch(r"[A-Z]{8}", body["user_code"])
    assert body["verification_uri"] == f"{dev.base_url}/activate"
    assert body["verification_uri_complete"] == (
        f"{dev.base_url}/activate?user_code={body['user_code']}"
    )
    assert (body["expires_in"], body["interval"]) == (600, 5)


def test_pending_then_approved_through_the_activate_form(
    dev: DevServer, http: httpx.Client
) -> None:
    start = device_start(http, dev)
    assert_error(
        device_poll(http, dev, start["device_code"]), 400, "authorization_pending", PENDING
    )
    done = _activate(http, start["user_code"])
    assert done.status_code == 200
    assert "Device activated" in done.text
    response = device_poll(http, dev, start["device_code"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == SCOPES
    assert {"access_token", "refresh_token", "id_token"} <= set(body)
    claims = verify(body["access_token"], jwks(http), audience="api://default", issuer=dev.issuer)
    assert claims["sub"] == ADA
    # The device code is single-use.
    assert_error(device_poll(http, dev, start["device_code"]), 400, "invalid_grant", DEVICE_INVALID)


def test_user_code_is_accepted_in_lower_case_with_a_dash(
    dev: DevServer, http: httpx.Client
) -> None:
    start = device_start(http, dev, scope="openid")
    code = start["user_code"]
    typed = f"{code[:4].lower()}-{code[4:].lower()}"
    response = http.post(
        "/activate", data={"user_code": typed, "username": GRACE, "password": "cobol-1959"}
    )
    assert response.status_code == 200
    body = device_poll(http, dev, start["device_code"]).json()
    assert "refresh_token" not in body  # no offline_access asked for
    claims = verify(body["access_token"], jwks(http), audience="api://default", issuer=dev.issuer)
    assert claims["sub"] == GRACE


def test_wrong_password_on_activate(dev: DevServer, http: httpx.Client) -> None:
    start = device_start(http, dev)
    response = _activate(http, start["user_code"], password="wrong")
    assert response.status_code == 401
    assert "Sign-in failed" in response.text
    assert_error(
        device_poll(http, dev, start["device_code"]), 400, "authorization_pending", PENDING
    )
    assert _activate(http, start["user_code"]).status_code == 200  # a second try works


def test_wrong_user_code_on_activate(http: httpx.Client) -> None:
    response = http.post(
        "/activate", data={"user_code": "BCDFBCDF", "username": ADA, "password": ADA_PASSWORD}
    )
    assert response.status_code == 400
    assert "That code is not valid or has expired." in response.text


def test_used_user_code_cannot_be_approved_again(dev: DevServer, http: httpx.Client) -> None:
    start = device_start(http, dev)
    assert _activate(http, start["user_code"]).status_code == 200
    again = http.post(
        "/activate",
        data={"user_code": start["user_code"], "username": GRACE, "password": "cobol-1959"},
    )
    assert again.status_code == 400


def test_deny_button_gives_access_denied(dev: DevServer, http: httpx.Client) -> None:
    start = device_start(http, dev)
    denied = http.post("/activate", data={"user_code": start["user_code"], "action": "deny"})
    assert denied.status_code == 200
    assert "Access denied" in denied.text
    assert_error(
        device_poll(http, dev, start["device_code"]),
        400,
        "access_denied",
        "The resource owner or authorization server denied the request.",
    )


def test_slow_down_when_polling_faster_than_the_interval(
    fresh_dev: DevServer,
) -> None:
    fresh_dev.configure_app("native", device_interval=3)
    with client(fresh_dev) as http:
        start = device_start(http, fresh_dev)
        assert start["interval"] == 3
        code = start["device_code"]
        assert_error(device_poll(http, fresh_dev, code), 400, "authorization_pending", PENDING)
        assert_error(device_poll(http, fresh_dev, code), 400, "slow_down", SLOW_DOWN)
        fresh_dev.advance_clock(4)  # the old interval would do, but slow_down added 5 s
        assert_error(device_poll(http, fresh_dev, code), 400, "slow_down", SLOW_DOWN)
        fresh_dev.advance_clock(14)
        assert_error(device_poll(http, fresh_dev, code), 400, "authorization_pending", PENDING)


def test_polling_at_the_interval_is_not_slowed(fresh_dev: DevServer) -> None:
    with client(fresh_dev) as http:
        code = device_start(http, fresh_dev)["device_code"]
        for _ in range(3):
            assert_error(device_poll(http, fresh_dev, code), 400, "authorization_pending", PENDING)
            fresh_dev.advance_clock(5)


def test_expired_device_code(fresh_dev: DevServer) -> None:
    with client(fresh_dev) as http:
        start = device_start(http, fresh_dev)
        fresh_dev.advance_clock(601)
        assert_error(
            device_poll(http, fresh_dev, start["device_code"]),
            400,
            "expired_token",
            "The device code has expired.",
        )
        late = _activate(http, start["user_code"])
        assert late.status_code == 400
        assert "That code is not valid or has expired." in late.text


def test_unknown_device_code(dev: DevServer, http: httpx.Client) -> None:
    assert_error(device_poll(http, dev, str(uuid.uuid4())), 400, "invalid_grant", DEVICE_INVALID)


def test_missing_device_code(dev: DevServer, http: httpx.Client) -> None:
    response = post(
        http,
        dev,
        "native",
        f"{DEFAULT}/token",
        {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
    )
    assert_error(
        response, 400, "invalid_request", "The required parameter 'device_code' is missing."
    )


def test_device_code_of_another_client() -> None:
    with (
        DevServer(
            port=0,
            config={
                "apps": {
                    "tv": {
                        "application_type": "native",
                        "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"],
                        "token_endpoint_auth_method": "none",
                    }
                }
            },
        ) as other,
        client(other) as c,
    ):
        start = device_start(c, other)
        other.approve_device(start["user_code"], ADA)
        assert_error(
            device_poll(c, other, start["device_code"], app="tv"),
            400,
            "invalid_grant",
            DEVICE_INVALID,
        )
        assert device_poll(c, other, start["device_code"]).status_code == 200


def test_device_grant_not_enabled_on_the_app(dev: DevServer, http: httpx.Client) -> None:
    response = post(http, dev, "web", f"{DEFAULT}/device/authorize", {"scope": "openid"})
    assert_error(
        response,
        400,
        "unauthorized_client",
        "The client is not authorized to use the provided grant type. "
        "Configured grant types: [authorization_code, refresh_token].",
    )


@pytest.mark.parametrize("scope", ["openid bogus", "   "])
def test_device_authorize_invalid_scope(dev: DevServer, http: httpx.Client, scope: str) -> None:
    response = post(http, dev, "native", f"{DEFAULT}/device/authorize", {"scope": scope})
    assert_error(response, 400, "invalid_scope", INVALID_SCOPE)


def test_device_authorize_needs_a_client(http: httpx.Client) -> None:
    response = http.post(f"{DEFAULT}/device/authorize", data={"scope": "openid"})
    assert_error(response, 401, "invalid_client", "No client credentials found.")


def test_python_approve_and_deny_controls(dev: DevServer, http: httpx.Client) -> None:
    approved, denied = device_start(http, dev), device_start(http, dev)
    dev.approve_device(approved["user_code"], GRACE)
    dev.deny_device(denied["user_code"])
    assert device_poll(http, dev, approved["device_code"]).status_code == 200
    assert device_poll(http, dev, denied["device_code"]).json()["error"] == "access_denied"


def test_auto_approve_option() -> None:
    with DevServer(port=0, auto_approve=GRACE) as dev, client(dev) as http:
        assert dev.auto_approve == GRACE
        start = device_start(http, dev)
        response = device_poll(http, dev, start["device_code"])
        assert response.status_code == 200, response.text
        access = response.json()["access_token"]
        claims = verify(access, jwks(http), audience="api://default", issuer=dev.issuer)
        assert claims["sub"] == GRACE
        dev.auto_approve = None
        pending = device_start(http, dev)
        assert_error(
            device_poll(http, dev, pending["device_code"]), 400, "authorization_pending", PENDING
        )


def test_unassigned_user_cannot_approve(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", assigned_users=[GRACE])
    with client(fresh_dev) as http:
        start = device_start(http, fresh_dev)
        refused = _activate(http, start["user_code"])
        assert refused.status_code == 403
        assert "User is not assigned to the client application." in refused.text
        assert_error(
            device_poll(http, fresh_dev, start["device_code"]),
            400,
            "authorization_pending",
            PENDING,
        )


def test_device_flow_on_the_org_server(dev: DevServer, http: httpx.Client) -> None:
    response = post(http, dev, "native", "/oauth2/v1/device/authorize", {"scope": "openid"})
    assert response.status_code == 200
    start = response.json()
    dev.approve_device(start["user_code"], ADA)
    tokens = post(
        http,
        dev,
        "native",
        "/oauth2/v1/token",
        {"grant_type": DEVICE_GRANT, "device_code": start["device_code"]},
    )
    assert tokens.status_code == 200
    # A device code is bound to the server that issued it.
    other = device_start(http, dev)
    dev.approve_device(other["user_code"], ADA)
    at_org = post(
        http,
        dev,
        "native",
        "/oauth2/v1/token",
        {"grant_type": DEVICE_GRANT, "device_code": other["device_code"]},
    )
    assert_error(at_org, 400, "invalid_grant", DEVICE_INVALID)
