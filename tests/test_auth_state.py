"""OktaAuth's public state after logins and refreshes: last_error and id_claims."""

from __future__ import annotations

import pytest

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
