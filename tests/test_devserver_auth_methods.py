"""Which client-authentication method an app accepts (spec §2.2).

An app with a secret takes it by either secret method, as Okta's docs group them; a secret for
a public app, or none for an app with a secret, stays ``invalid_client``; a strict setting
refuses the other secret method; the event log records the method used and any mismatch.
"""

from __future__ import annotations

import httpx
import pytest
from devserver_helpers import ADA, DEFAULT, GENERIC_CLIENT, assert_error, basic, client

from okta_nb_auth.devserver import DevServer, SettingsError

CC = {"grant_type": "client_credentials", "scope": "demo.read"}
SECRET_METHODS = ["client_secret_basic", "client_secret_post"]
MULTIPLE = (
    "Cannot supply multiple client credentials. Use one of the following: credentials in the "
    "Authorization header, credentials in the post body, or a client_assertion in the post body."
)
BAD_SECRET = "The client secret supplied for a confidential client is invalid."
MISMATCH = "invalid_token_endpoint_auth_method"


def _send(
    http: httpx.Client, method: str, client_id: str, secret: str | None, data: dict[str, str]
) -> httpx.Response:
    """One call authenticated by ``method``, whatever the app is configured for."""
    if method == "client_secret_basic":
        assert secret is not None
        return http.post(
            f"{DEFAULT}/token", data=data, headers={"Authorization": basic(client_id, secret)}
        )
    fields = {"client_id": client_id}
    if method == "client_secret_post":
        assert secret is not None
        fields["client_secret"] = secret
    return http.post(f"{DEFAULT}/token", data={**data, **fields})


def _service(dev: DevServer) -> tuple[str, str]:
    app = dev.app("service")
    assert app.client_secret is not None
    return app.client_id, app.client_secret


@pytest.mark.parametrize("used", SECRET_METHODS)
@pytest.mark.parametrize("configured", SECRET_METHODS)
def test_either_secret_method_for_either_secret_app(
    fresh_dev: DevServer, configured: str, used: str
) -> None:
    fresh_dev.configure_app("service", token_endpoint_auth_method=configured)
    cid, secret = _service(fresh_dev)
    with client(fresh_dev) as http:
        response = _send(http, used, cid, secret, CC)
    assert response.status_code == 200, response.status_code
    event = fresh_dev.events[-1]
    assert (event.endpoint, event.status, event.auth_method) == ("token", 200, used)
    assert event.auth_mismatch == (None if used == configured else MISMATCH)
    assert event.detail is None  # accepted: the detail stays the grant's


@pytest.mark.parametrize("endpoint", ["introspect", "revoke", "device/authorize"])
def test_the_body_secret_is_accepted_at_every_endpoint(dev: DevServer, endpoint: str) -> None:
    cid, secret = _service(dev)
    with client(dev) as http:
        response = http.post(
            f"{DEFAULT}/{endpoint}",
            data={"token": "x", "scope": "openid", "client_id": cid, "client_secret": secret},
        )
    # Authenticated: 200, or the device grant's unauthorized_client for the service app.
    assert response.status_code in (200, 400), response.status_code
    assert dev.events[-1].auth_method == "client_secret_post"


@pytest.mark.parametrize("configured", SECRET_METHODS)
def test_header_and_body_at_once_stay_invalid_request(
    fresh_dev: DevServer, configured: str
) -> None:
    fresh_dev.configure_app("service", token_endpoint_auth_method=configured)
    cid, secret = _service(fresh_dev)
    with client(fresh_dev) as http:
        response = http.post(
            f"{DEFAULT}/token",
            data={**CC, "client_id": cid, "client_secret": secret},
            headers={"Authorization": basic(cid, secret)},
        )
    assert_error(response, 401, "invalid_request", MULTIPLE)


def test_a_body_secret_with_a_client_assertion_is_invalid_request(dev: DevServer) -> None:
    cid, secret = _service(dev)
    with client(dev) as http:
        response = http.post(
            f"{DEFAULT}/token",
            data={**CC, "client_id": cid, "client_secret": secret, "client_assertion": "eyJ.x.y"},
        )
    assert_error(response, 401, "invalid_request", MULTIPLE)


@pytest.mark.parametrize("used", SECRET_METHODS)
def test_a_public_app_refuses_a_secret(dev: DevServer, used: str) -> None:
    native = dev.app("native").client_id
    data = {"grant_type": "refresh_token", "refresh_token": "x"}
    with client(dev) as http:
        response = _send(http, used, native, "a-secret-it-does-not-have", data)
    assert_error(response, 401, "invalid_client", GENERIC_CLIENT)
    event = dev.events[-1]
    assert (event.auth_method, event.auth_mismatch, event.detail) == (used, MISMATCH, MISMATCH)


@pytest.mark.parametrize("configured", SECRET_METHODS)
def test_a_secret_app_refuses_no_secret(fresh_dev: DevServer, configured: str) -> None:
    fresh_dev.configure_app("service", token_endpoint_auth_method=configured)
    with client(fresh_dev) as http:
        response = _send(http, "none", fresh_dev.app("service").client_id, None, CC)
    assert_error(response, 401, "invalid_client", GENERIC_CLIENT)
    event = fresh_dev.events[-1]
    assert (event.auth_method, event.auth_mismatch, event.detail) == ("none", MISMATCH, MISMATCH)


@pytest.mark.parametrize("used", SECRET_METHODS)
def test_a_wrong_secret_by_either_method(dev: DevServer, used: str) -> None:
    with client(dev) as http:
        response = _send(http, used, dev.app("service").client_id, "not-the-secret-at-all", CC)
    assert_error(response, 401, "invalid_client", BAD_SECRET)


def test_strict_app_refuses_the_other_secret_method(fresh_dev: DevServer) -> None:
    app = fresh_dev.configure_app("service", strict_auth_method=True)
    assert "client_secret_basic (strict)" in repr(app)
    cid, secret = _service(fresh_dev)
    with client(fresh_dev) as http:
        refused = _send(http, "client_secret_post", cid, secret, CC)
        assert_error(refused, 401, "invalid_client", GENERIC_CLIENT)
        event = fresh_dev.events[-1]
        assert (event.error, event.auth_method) == ("invalid_client", "client_secret_post")
        assert (event.auth_mismatch, event.detail) == (MISMATCH, MISMATCH)
        assert _send(http, "client_secret_basic", cid, secret, CC).status_code == 200
        wrong = _send(http, "client_secret_post", cid, "not-the-secret-at-all", CC)
        assert_error(wrong, 401, "invalid_client", BAD_SECRET)  # the secret is checked first


def test_strict_server_setting() -> None:
    config = {"server": {"strict_auth_method": True}}
    with DevServer(port=0, config=config) as dev, client(dev) as http:
        cid, secret = _service(dev)
        refused = _send(http, "client_secret_post", cid, secret, CC)
        assert_error(refused, 401, "invalid_client", GENERIC_CLIENT)
        assert dev.events[-1].detail == MISMATCH
        assert _send(http, "client_secret_basic", cid, secret, CC).status_code == 200


def test_strict_app_from_the_config_file_mapping() -> None:
    config = {"apps": {"service": {"strict_auth_method": True}}}
    with DevServer(port=0, config=config) as dev, client(dev) as http:
        cid, secret = _service(dev)
        assert _send(http, "client_secret_post", cid, secret, CC).status_code == 401


@pytest.mark.parametrize(
    "config",
    [{"server": {"strict_auth_method": "yes"}}, {"apps": {"web": {"strict_auth_method": 1}}}],
)
def test_strict_must_be_a_boolean(config: dict[str, dict[str, object]]) -> None:
    with pytest.raises(SettingsError, match="strict_auth_method must be true or false"):
        DevServer(port=0, config=config)


def test_an_accepted_mismatch_keeps_the_grants_detail(fresh_dev: DevServer) -> None:
    # The article's refresh: the secret in the body, to the console's client_secret_basic app.
    fresh_dev.configure_app("web", rotation="ROTATE")
    web = fresh_dev.app("web")
    refresh_token = fresh_dev.login_as(ADA, "web").refresh_token
    assert refresh_token is not None and web.client_secret is not None
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    with client(fresh_dev) as http:
        response = _send(http, "client_secret_post", web.client_id, web.client_secret, data)
    assert response.status_code == 200, response.status_code
    event = fresh_dev.events[-1]
    assert (event.auth_method, event.auth_mismatch) == ("client_secret_post", MISMATCH)
    assert event.detail == "rotated"
