"""Each error class from a real dev-server response or an injected fault; tokens are kept."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from okta_nb_auth import (
    AuthSession,
    ConfigError,
    KeyFetchError,
    LoginRequired,
    OktaAuth,
    RateLimited,
    TokenVerificationError,
    TokenVerifier,
    TransientError,
)
from okta_nb_auth.devserver import DevServer

ADA = "ada@example.com"


def session(dev: DevServer, app: str = "native", **kwargs: Any) -> tuple[AuthSession, list[float]]:
    """A session whose retries sleep on a list, not on the clock."""
    sleeps: list[float] = []
    config = kwargs.pop("config", None) or dev.config(app)
    tokens = kwargs.pop("tokens", None) or dev.login_as(ADA, app)
    auth = OktaAuth(config, tokens, sleep=sleeps.append, **kwargs)
    return AuthSession(config, okta_auth=auth), sleeps


def token_calls(dev: DevServer) -> list[Any]:
    return [e for e in dev.events if e.endpoint == "token"]


def test_revoked_user_is_login_required(fresh_dev: DevServer) -> None:
    s, _ = session(fresh_dev)
    with s:
        before = s.tokens
        fresh_dev.revoke_user(ADA)
        with pytest.raises(LoginRequired, match=r"(?i)log in again") as info:
            s.refresh()
        assert info.value.error == "invalid_grant" and info.value.status_code == 400
        assert s.tokens is before
        with pytest.raises(LoginRequired):  # a 401 now: the dead token is not sent again
            s.get(f"{fresh_dev.api_url}/whoami")
    assert len(token_calls(fresh_dev)) == 1


def test_no_refresh_token_is_login_required_without_a_call(fresh_dev: DevServer) -> None:
    tokens = fresh_dev.login_as(ADA, "no-refresh")
    assert tokens.refresh_token is None  # gate 1: silently omitted
    s, _ = session(fresh_dev, "no-refresh", tokens=tokens)
    with s, pytest.raises(LoginRequired, match="offline_access"):
        s.refresh()
    assert token_calls(fresh_dev) == []


def test_refresh_grant_disabled_is_config_error_with_the_fix(fresh_dev: DevServer) -> None:
    s, _ = session(fresh_dev, "web")
    fresh_dev.configure_app("web", grant_types=["authorization_code"])
    with s, pytest.raises(ConfigError) as info:
        s.refresh()
    assert info.value.error == "unauthorized_client"
    assert "enable the Refresh Token grant type for this app" in str(info.value)
    assert info.value.error_description and "Configured grant types" in info.value.error_description


def test_wrong_secret_is_config_error(fresh_dev: DevServer) -> None:
    config = fresh_dev.config("web", client_secret="wrong-secret-0123456789abcdef")
    s, _ = session(fresh_dev, "web", config=config)
    with s, pytest.raises(ConfigError) as info:
        s.refresh()
    assert info.value.error == "invalid_client" and info.value.status_code == 401


def test_bad_scope_is_config_error(fresh_dev: DevServer) -> None:
    config = fresh_dev.config("service")
    with (
        AuthSession.client_credentials(config, ["openid"]) as s,
        pytest.raises(ConfigError) as info,
    ):
        s.get(f"{fresh_dev.api_url}/reports")
    assert info.value.error == "invalid_scope"


def test_unknown_authorization_server_is_config_error(fresh_dev: DevServer) -> None:
    config = fresh_dev.config(issuer=f"{fresh_dev.base_url}/oauth2/nope")
    s, _ = session(fresh_dev, config=config)
    with s, pytest.raises(ConfigError, match="404"):
        s.refresh()


@pytest.mark.parametrize(("status", "kind"), [(503, "html"), (500, "json")])
def test_transient_faults_are_retried(fresh_dev: DevServer, status: int, kind: str) -> None:
    fresh_dev.inject_fault(status, count=2)
    s, sleeps = session(fresh_dev)
    with s:
        before = s.tokens
        assert s.refresh() is not before
    assert sleeps == [0.5, 1.0]
    assert [e.status for e in token_calls(fresh_dev)] == [status, status, 200]


def test_transient_faults_beyond_the_retries_keep_the_tokens(fresh_dev: DevServer) -> None:
    fresh_dev.inject_fault(502, count=5)
    s, sleeps = session(fresh_dev, max_retries=2)
    with s:
        before = s.tokens
        with pytest.raises(TransientError) as info:
            s.refresh()
        assert s.tokens is before and info.value.status_code == 502
    assert len(token_calls(fresh_dev)) == 3 and sleeps == [0.5, 1.0]


def test_dropped_connection_is_transient_and_retried(fresh_dev: DevServer) -> None:
    fresh_dev.inject_fault(drop=True)
    s, sleeps = session(fresh_dev)
    with s:
        s.refresh()
    assert sleeps == [0.5]


def test_rate_limit_is_raised_when_the_reset_is_far(fresh_dev: DevServer) -> None:
    fresh_dev.inject_fault(429)
    s, sleeps = session(fresh_dev)
    with s:
        with pytest.raises(RateLimited) as info:
            s.refresh()
        assert info.value.retry_at is not None
        assert 50 < info.value.retry_at - fresh_dev.now() < 70  # the server resets in 60 s
    assert sleeps == []


def test_rate_limit_is_waited_out_when_allowed(fresh_dev: DevServer) -> None:
    fresh_dev.inject_fault(429)
    s, sleeps = session(fresh_dev, max_wait=120)
    with s:
        s.refresh()
    assert len(sleeps) == 1 and 55 < sleeps[0] < 62


def test_token_from_another_issuer_fails_verification(fresh_dev: DevServer) -> None:
    org_token = fresh_dev.login_as(ADA, org=True).access_token
    verifier = TokenVerifier(fresh_dev.config())
    with httpx.Client() as client, pytest.raises(TokenVerificationError) as info:
        verifier.verify_access_token(org_token, client)
    assert org_token not in str(info.value)


def test_access_token_verification_against_the_server(fresh_dev: DevServer) -> None:
    config = fresh_dev.config("service")
    with AuthSession.client_credentials(config, ["demo.read"]) as s:
        s.get(f"{fresh_dev.api_url}/reports")
        assert s.tokens is not None
        token = s.tokens.access_token
    verifier = TokenVerifier(config)
    with httpx.Client() as client:
        claims = verifier.verify_access_token(token, client, required_scopes=["demo.read"])
        assert claims["cid"] == config.client_id
        with pytest.raises(TokenVerificationError, match=r"demo\.write"):
            verifier.verify_access_token(token, client, required_scopes=["demo.write"])


def test_issuer_spelled_differently_is_config_error(fresh_dev: DevServer) -> None:
    # localhost and 127.0.0.1 reach the same server, but the issuer string must match exactly.
    issuer = fresh_dev.issuer.replace("127.0.0.1", "localhost")
    s, _ = session(fresh_dev, config=fresh_dev.config(issuer=issuer))
    with s, pytest.raises(ConfigError, match="issuer"):
        s.refresh()


class NoKeys(httpx.BaseTransport):
    """The real network, except that the JWKS endpoint is unreachable."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v1/keys"):
            raise httpx.ConnectError("unreachable", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_keys_unreachable_is_key_fetch_error(fresh_dev: DevServer) -> None:
    tokens = fresh_dev.login_as(ADA)
    assert tokens.id_token is not None
    verifier = TokenVerifier(fresh_dev.config())
    with httpx.Client(transport=NoKeys()) as client, pytest.raises(KeyFetchError):
        verifier.verify_id_token(tokens.id_token, client)


def test_keys_unreachable_during_refresh_keeps_the_new_tokens(
    fresh_dev: DevServer, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = fresh_dev.login_as(ADA)
    with AuthSession(fresh_dev.config(), tokens, transport=NoKeys()) as s:
        refreshed = s.refresh()
        assert s.get(f"{fresh_dev.api_url}/whoami").status_code == 200
    assert refreshed.access_token != tokens.access_token
    assert refreshed.id_token == tokens.id_token  # the unverified new one was not kept
    assert "Could not verify the new ID token" in caplog.text


def test_rate_limit_reset_is_converted_to_our_clock(fresh_dev: DevServer) -> None:
    # X-Rate-Limit-Reset is an epoch in the server's clock, here an hour ahead of ours.
    tokens = fresh_dev.login_as(ADA)
    fresh_dev.advance_clock(3600)
    fresh_dev.inject_fault(429)
    s, _ = session(fresh_dev, tokens=tokens)
    with s, pytest.raises(RateLimited) as info:
        s.refresh()
    assert info.value.retry_at is not None
    assert 50 < info.value.retry_at - time.time() < 70
