"""Authorization code + PKCE; the sign-in form is submitted as a browser would (spec §2.1, §2.2)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from devserver_helpers import (
    ADA,
    ADA_PASSWORD,
    B64URL_43,
    CODE_INVALID,
    DEFAULT,
    INVALID_SCOPE,
    ORG,
    REDIRECT,
    WEB_REDIRECT,
    assert_error,
    authorize_params,
    client,
    code_flow,
    exchange,
    jwks,
    login_code,
    pkce,
    query_of,
    sign_in,
    token,
    txn_of,
    verify,
)

from okta_nb_auth.devserver import DevServer


@pytest.fixture
def http(dev: DevServer) -> Iterator[httpx.Client]:
    with client(dev) as c:
        yield c


def test_native_login_through_the_form_then_pkce_exchange(
    dev: DevServer, http: httpx.Client
) -> None:
    verifier, challenge = pkce()
    params = authorize_params(dev, "native", challenge=challenge, state="abc-123")
    with client(dev) as browser:
        page = browser.get(f"{DEFAULT}/authorize", params=params)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "name=username" in page.text and "type=password" in page.text
        submitted = browser.post(
            f"{DEFAULT}/authorize",
            data={
                "txn": txn_of(page.text),
                "username": ADA,
                "password": ADA_PASSWORD,
                "action": "signin",
            },
        )
    assert submitted.status_code == 302
    assert submitted.headers["referrer-policy"] == "no-referrer"
    location = submitted.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = query_of(location)
    assert query["state"] == "abc-123"
    assert B64URL_43.match(query["code"])  # opaque, 43-char base64url, as Okta's

    response = exchange(http, dev, "native", query["code"], verifier)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-cache, no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["expires"] == "0"
    for name in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
        assert response.headers[name].isdigit()
    body = response.json()
    assert list(body) == [
        "token_type",
        "expires_in",
        "access_token",
        "scope",
        "refresh_token",
        "id_token",
    ]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "openid profile email offline_access"
    assert "success" not in body


def test_web_app_confidential_basic_auth_without_pkce(dev: DevServer, http: httpx.Client) -> None:
    code, verifier, _ = login_code(dev, "web")
    assert verifier is None
    response = exchange(http, dev, "web", code, None)
    assert response.status_code == 200, response.text
    assert {"access_token", "refresh_token", "id_token"} <= set(response.json())


def test_web_app_may_opt_in_to_pkce(dev: DevServer, http: httpx.Client) -> None:
    code, verifier, _ = login_code(dev, "web", pkce_on=True)
    assert_error(
        exchange(http, dev, "web", code, None),
        400,
        "invalid_request",
        "PKCE code verifier is required by the application.",
    )
    code, verifier, _ = login_code(dev, "web", pkce_on=True)
    assert exchange(http, dev, "web", code, verifier).status_code == 200


def test_verifier_without_challenge_is_refused(dev: DevServer, http: httpx.Client) -> None:
    code, _, _ = login_code(dev, "web")
    assert_error(
        exchange(http, dev, "web", code, "x" * 43),
        400,
        "invalid_request",
        "PKCE code challenge should be specified in the authorize request for code verification.",
    )


def test_missing_verifier_for_public_client(dev: DevServer, http: httpx.Client) -> None:
    code, _, _ = login_code(dev, "native")
    assert_error(
        exchange(http, dev, "native", code, None),
        400,
        "invalid_request",
        "PKCE code verifier is required by the application.",
    )


def _authorize_error(dev: DevServer, params: dict[str, str]) -> dict[str, str]:
    with client(dev) as browser:
        response = browser.get(f"{DEFAULT}/authorize", params=params)
    assert response.status_code == 302, response.text
    assert response.headers["location"].startswith(params["redirect_uri"] + "?")
    return query_of(response.headers["location"])


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        ({}, "invalid_request", "PKCE code challenge is required by the application."),
        (
            {"code_challenge": "a" * 43, "code_challenge_method": "plain"},
            "invalid_request",
            "PKCE code challenge method is not supported. Valid values: [S256]",
        ),
        (
            {"code_challenge": "a" * 42 + "!", "code_challenge_method": "S256"},
            "invalid_request",
            "PKCE code challenge contains illegal characters.",
        ),
        (
            {"code_challenge": "a" * 43, "code_challenge_method": "S256", "scope": "openid nope"},
            "invalid_scope",
            INVALID_SCOPE,
        ),
        (
            {"code_challenge": "a" * 43, "code_challenge_method": "S256", "response_type": "token"},
            "unsupported_response_type",
            "The response type is not supported by the authorization server. "
            "Configured response types: [code].",
        ),
        (
            {"code_challenge": "a" * 43, "code_challenge_method": "S256", "prompt": "none"},
            "login_required",
            "The client specified not to prompt, but the user is not logged in.",
        ),
    ],
)
def test_authorize_errors_are_redirected_with_state(
    dev: DevServer, change: dict[str, str], error: str, description: str
) -> None:
    params = {**authorize_params(dev, "native", state="keep-me"), **change}
    query = _authorize_error(dev, params)
    assert query == {"error": error, "error_description": description, "state": "keep-me"}


def test_missing_state_is_refused(dev: DevServer) -> None:
    params = authorize_params(dev, "web")
    del params["state"]
    query = _authorize_error(dev, params)
    assert query == {
        "error": "invalid_request",
        "error_description": "The authentication request has an invalid 'state' parameter.",
    }


def test_authorize_on_app_without_code_grant() -> None:
    with DevServer(port=0, config={"apps": {"service": {"redirect_uris": [REDIRECT]}}}) as other:
        params = authorize_params(other, "service", scope="openid", redirect_uri=REDIRECT)
        query = _authorize_error(other, params)
    assert query["error"] == "unauthorized_client"
    assert query["error_description"] == (
        "The client is not authorized to use the provided grant type. "
        "Configured grant types: [client_credentials]."
    )


def test_wrong_password_shows_the_form_again_then_succeeds(dev: DevServer) -> None:
    _, challenge = pkce()
    params = authorize_params(dev, "native", challenge=challenge)
    with client(dev) as browser:
        page = browser.get(f"{DEFAULT}/authorize", params=params)
        txn = txn_of(page.text)
        wrong = browser.post(
            f"{DEFAULT}/authorize", data={"txn": txn, "username": ADA, "password": "nope"}
        )
        assert wrong.status_code == 401
        assert "location" not in wrong.headers
        assert "Sign-in failed" in wrong.text
        assert f'value="{ADA}"' in wrong.text  # the username is kept, the password is not
        right = browser.post(
            f"{DEFAULT}/authorize",
            data={"txn": txn_of(wrong.text), "username": ADA, "password": ADA_PASSWORD},
        )
    assert right.status_code == 302
    assert "code" in query_of(right.headers["location"])


def test_cancel_redirects_access_denied(dev: DevServer) -> None:
    params = authorize_params(dev, "web", state="s1")
    with client(dev) as browser:
        page = browser.get(f"{DEFAULT}/authorize", params=params)
        response = browser.post(
            f"{DEFAULT}/authorize", data={"txn": txn_of(page.text), "action": "cancel"}
        )
    assert response.status_code == 302
    assert query_of(response.headers["location"]) == {
        "error": "access_denied",
        "error_description": "The resource owner or authorization server denied the request.",
        "state": "s1",
    }


def test_unknown_or_used_transaction_is_an_error_page(dev: DevServer) -> None:
    params = authorize_params(dev, "web")
    with client(dev) as browser:
        txn = txn_of(browser.get(f"{DEFAULT}/authorize", params=params).text)
        form = {"txn": txn, "username": ADA, "password": ADA_PASSWORD}
        assert browser.post(f"{DEFAULT}/authorize", data=form).status_code == 302
        again = browser.post(f"{DEFAULT}/authorize", data=form)
        bogus = browser.post(f"{DEFAULT}/authorize", data={**form, "txn": "bogus"})
    for response in (again, bogus):
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("text/html")
        assert "This sign-in request has expired" in response.text


def test_session_cookie_gives_single_sign_on_and_prompt_login_asks_again(
    dev: DevServer,
) -> None:
    with client(dev) as browser:
        first = sign_in(browser, authorize_params(dev, "web"))
        assert first.status_code == 302
        second = browser.get(f"{DEFAULT}/authorize", params=authorize_params(dev, "web"))
        assert second.status_code == 302  # no form: the session signs in
        assert "code" in query_of(second.headers["location"])
        forced = browser.get(
            f"{DEFAULT}/authorize", params=authorize_params(dev, "web", prompt="login")
        )
        assert forced.status_code == 200
        assert "txn" in forced.text


def test_response_mode_fragment_and_form_post(dev: DevServer, http: httpx.Client) -> None:
    with client(dev) as browser:
        fragment = sign_in(browser, authorize_params(dev, "web", response_mode="fragment"))
    assert fragment.status_code == 302
    assert fragment.headers["location"].startswith(WEB_REDIRECT + "#code=")
    with client(dev) as browser:
        posted = sign_in(browser, authorize_params(dev, "web", response_mode="form_post"))
    assert posted.status_code == 200
    assert f'action="{WEB_REDIRECT}"' in posted.text
    assert '<input type=hidden name="state" value="st4te">' in posted.text
    assert '<input type=hidden name="code" value="' in posted.text


def test_id_token_and_access_token_of_the_code_flow(dev: DevServer, http: httpx.Client) -> None:
    body = code_flow(http, dev, "native", nonce="n-0S6_WzA2Mj")
    keys = jwks(http)
    claims = verify(body["id_token"], keys, audience=dev.app("native").client_id, issuer=dev.issuer)
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    access = verify(body["access_token"], keys, audience="api://default", issuer=dev.issuer)
    assert access["sub"] == ADA


def test_org_server_code_flow(dev: DevServer, http: httpx.Client) -> None:
    body = code_flow(http, dev, "web", base=ORG)
    claims = verify(
        body["id_token"], jwks(http, ORG), audience=dev.app("web").client_id, issuer=dev.base_url
    )
    assert claims["iss"] == dev.base_url


def test_code_from_one_server_is_invalid_at_the_other(dev: DevServer, http: httpx.Client) -> None:
    code, _, _ = login_code(dev, "web", base=ORG)
    assert_error(exchange(http, dev, "web", code, None), 400, "invalid_grant", CODE_INVALID)


def test_redirect_uri_mismatch_at_token(dev: DevServer, http: httpx.Client) -> None:
    code, _, _ = login_code(dev, "web")
    response = token(
        http,
        dev,
        "web",
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
    )
    assert_error(
        response,
        400,
        "invalid_grant",
        "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
    )


def test_code_issued_to_another_client(dev: DevServer, http: httpx.Client) -> None:
    code, _, _ = login_code(dev, "web")
    assert_error(
        exchange(http, dev, "no-refresh", code, None),
        400,
        "invalid_grant",
        "The grant was issued to another client. Please make sure the 'client_id' matches the "
        "one used at the authorize request.",
    )


def test_missing_code_parameter(dev: DevServer, http: httpx.Client) -> None:
    response = token(
        http, dev, "web", {"grant_type": "authorization_code", "redirect_uri": WEB_REDIRECT}
    )
    assert_error(response, 400, "invalid_request", "The required parameter 'code' is missing.")


def test_code_expires_after_300_seconds(fresh_dev: DevServer) -> None:
    with client(fresh_dev) as http:
        code, verifier, _ = login_code(fresh_dev, "native")
        fresh_dev.advance_clock(301)
        assert_error(
            exchange(http, fresh_dev, "native", code, verifier), 400, "invalid_grant", CODE_INVALID
        )


def test_code_still_valid_just_before_300_seconds(fresh_dev: DevServer) -> None:
    with client(fresh_dev) as http:
        code, verifier, _ = login_code(fresh_dev, "native")
        fresh_dev.advance_clock(295)
        assert exchange(http, fresh_dev, "native", code, verifier).status_code == 200


def test_unassigned_user_is_denied(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("web", assigned_users=["grace@example.com"])
    with client(fresh_dev) as browser:
        response = sign_in(browser, authorize_params(fresh_dev, "web", state="s"))
    assert response.status_code == 302
    assert query_of(response.headers["location"]) == {
        "error": "access_denied",
        "error_description": "User is not assigned to the client application.",
        "state": "s",
    }


def test_prompt_none_with_a_session_issues_a_code(dev: DevServer) -> None:
    with client(dev) as browser:
        assert sign_in(browser, authorize_params(dev, "web")).status_code == 302
        silent = browser.get(
            f"{DEFAULT}/authorize", params=authorize_params(dev, "web", prompt="none", state="q")
        )
    assert silent.status_code == 302
    query = query_of(silent.headers["location"])
    assert set(query) == {"code", "state"} and query["state"] == "q"


def test_offline_access_at_the_token_endpoint_does_nothing(
    dev: DevServer, http: httpx.Client
) -> None:
    code, _, _ = login_code(dev, "web", scope="openid profile")
    response = token(
        http,
        dev,
        "web",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WEB_REDIRECT,
            "scope": "openid profile offline_access",
        },
    )
    assert response.status_code == 200
    assert "refresh_token" not in response.json()
    assert response.json()["scope"] == "openid profile"
