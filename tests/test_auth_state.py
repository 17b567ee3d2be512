"""OktaAuth's public state after logins and refreshes: last_error and id_claims."""

from __future__ import annotations

import pytest
from devserver_helpers import oauth_events

from okta_nb_auth import AuthSession, LoginRequired, device_login
from okta_nb_auth.devserver import DevServer


def test_a_login_leaves_verified_id_claims_and_no_error(fresh_dev: DevServer) -> None:
    fresh_dev.auto_approve = "ada@example.com"
    fresh_dev.configure_app("native", device_interval=0)
    result = device_login(fresh_dev.config("native"), sleep=lambda _: None)
    auth = result.session.okta_auth
    assert auth.id_claims is not None
    assert auth.id_claims["email"] == "ada@example.com"
    assert auth.id_claims["aud"] == fresh_dev.app("native").client_id
    assert auth.last_error is None
    result.session.close()


def test_last_error_holds_a_failed_refresh_until_new_tokens(fresh_dev: DevServer) -> None:
    config = fresh_dev.config("native")
    session = AuthSession(config, fresh_dev.login_as("ada@example.com"))
    fresh_dev.revoke_user("ada@example.com")
    with pytest.raises(LoginRequired):
        session.refresh()
    error = session.okta_auth.last_error
    assert isinstance(error, LoginRequired) and error.error == "invalid_grant"
    session.okta_auth.set_tokens(fresh_dev.login_as("ada@example.com"))
    assert session.okta_auth.last_error is None
    session.refresh()
    assert session.okta_auth.last_error is None
    session.close()


def test_sessions_take_an_injected_clock(fresh_dev: DevServer) -> None:
    config = fresh_dev.config("native")
    fresh_dev.configure_app("native", access_token_ttl=300)
    session = AuthSession(config, fresh_dev.login_as(), clock=fresh_dev.now)
    fresh_dev.clear_events()
    fresh_dev.advance_clock(290)  # inside the leeway, as both clocks agree
    assert session.get(fresh_dev.api_url + "/whoami").status_code == 200
    assert [e.grant_type for e in oauth_events(fresh_dev)] == ["refresh_token"]
    with pytest.raises(ValueError, match="pass clock= to the OktaAuth"):
        AuthSession(config, okta_auth=session.okta_auth, clock=fresh_dev.now)
    session.close()


@pytest.mark.anyio
async def test_async_sessions_take_an_injected_clock(fresh_dev: DevServer) -> None:
    from okta_nb_auth import AsyncAuthSession

    fresh_dev.configure_app("native", access_token_ttl=300)
    config = fresh_dev.config("native")
    async with AsyncAuthSession(config, fresh_dev.login_as(), clock=fresh_dev.now) as session:
        fresh_dev.clear_events()
        fresh_dev.advance_clock(290)
        assert (await session.get(fresh_dev.api_url + "/whoami")).status_code == 200
    assert [e.grant_type for e in oauth_events(fresh_dev)] == ["refresh_token"]
