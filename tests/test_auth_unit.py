"""OktaAuth's one flow, driven by hand with next()/send()/throw(): no network, no waiting."""

from __future__ import annotations

import email.utils
import logging
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from fake_okta import CLIENT_ID, ISSUER

from okta_nb_auth import (
    ConfigError,
    DiscoveryCache,
    LoginRequired,
    OktaAuth,
    OktaConfig,
    ProtocolError,
    RateLimited,
    ServerMetadata,
    TokenSet,
    TransientError,
)
from okta_nb_auth._steps import LOCK, UNLOCK, Sleep

NOW = 1_800_000_000.0
API = "https://api.example.com/data"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def cache() -> DiscoveryCache:
    discovery = DiscoveryCache()
    discovery.put(
        ServerMetadata(
            issuer=ISSUER,
            token_endpoint=f"{ISSUER}/v1/token",
            jwks_uri=f"{ISSUER}/v1/keys",
            revocation_endpoint=f"{ISSUER}/v1/revoke",
            raw={"revocation_endpoint": f"{ISSUER}/v1/revoke"},
        )
    )
    return discovery


def tokens(expires_in: float = 3600, refresh: str | None = "rt-0-abcdefghijklmnopqrst") -> TokenSet:
    return TokenSet(
        access_token="at-0-abcdefghijklmnopqrstuvwxyz",
        expires_at=NOW + expires_in,
        refresh_token=refresh,
        id_token="old-id-token-abcdefghijklmnop",
    )


def make(tok: TokenSet | None = None, clock: Clock | None = None, **kwargs: Any) -> OktaAuth:
    config = OktaConfig(ISSUER, CLIENT_ID)
    kwargs.setdefault("verify_id_tokens", False)
    return OktaAuth(config, tok, clock=clock or Clock(), discovery=cache(), **kwargs)


def body(n: int = 1, expires_in: Any = 3600, **extra: Any) -> dict[str, Any]:
    return {
        "token_type": "Bearer",
        "expires_in": expires_in,
        "access_token": f"at-{n}-abcdefghijklmnopqrstuvwxyz",
        "scope": "openid offline_access",
        **extra,
    }


def reply(request: Any, status: int = 200, json: Any = None, **headers: str) -> httpx.Response:
    assert isinstance(request, httpx.Request)
    return httpx.Response(status, json=json, headers=headers, request=request)


def bearer(request: httpx.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


def is_token_request(step: object) -> bool:
    return isinstance(step, httpx.Request) and step.url.path.endswith("/v1/token")


def finish(flow: Any, response: httpx.Response) -> None:
    with pytest.raises(StopIteration):
        flow.send(response)


def refresh_through(flow: Any, request: httpx.Request, token_reply: Any) -> httpx.Request:
    """Drive LOCK, the token call and UNLOCK; return the signed API request."""
    assert next(flow) is LOCK
    step = flow.send(None)
    assert is_token_request(step)
    assert flow.send(token_reply(step)) is UNLOCK
    out = flow.send(None)
    assert out is request
    return out


def test_fresh_token_is_attached_without_any_other_request() -> None:
    auth = make(tokens())
    request = httpx.Request("GET", API)
    flow = auth._flow(request)
    assert next(flow) is request
    assert bearer(request) == "at-0-abcdefghijklmnopqrstuvwxyz"
    finish(flow, reply(request))


def test_expiry_refreshes_first_and_keeps_omitted_tokens() -> None:
    seen: list[TokenSet] = []
    clock = Clock()
    auth = make(tokens(), clock, on_tokens=seen.append)
    clock.now += 3570  # 30 s left: inside the 60 s leeway
    request = httpx.Request("GET", API)
    flow = auth._flow(request)
    assert next(flow) is LOCK
    token_request = flow.send(None)
    form = dict(parse_qsl(token_request.content.decode()))
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-0-abcdefghijklmnopqrst",
        "client_id": CLIENT_ID,
    }
    assert flow.send(reply(token_request, json=body(1))) is UNLOCK
    assert flow.send(None) is request
    assert bearer(request) == "at-1-abcdefghijklmnopqrstuvwxyz"
    finish(flow, reply(request))
    assert auth.tokens is not None
    assert auth.tokens.refresh_token == "rt-0-abcdefghijklmnopqrst"  # kept: not in response
    assert auth.tokens.id_token == "old-id-token-abcdefghijklmnop"
    assert auth.tokens.expires_at == clock.now + 3600
    assert seen == [auth.tokens]


def test_leeway_is_capped_at_half_the_lifetime() -> None:
    clock = Clock()
    auth = make(tokens(expires_in=100), clock, leeway=3600)
    clock.now += 49  # 51 s left: more than half of 100 s, so no refresh despite leeway=3600
    request = httpx.Request("GET", API)
    assert next(auth._flow(request)) is request
    clock.now += 2  # 49 s left
    assert next(auth._flow(httpx.Request("GET", API))) is LOCK


def test_default_leeway_is_60_seconds() -> None:
    clock = Clock()
    auth = make(tokens(expires_in=3600), clock)
    clock.now += 3539
    assert isinstance(next(auth._flow(httpx.Request("GET", API))), httpx.Request)
    clock.now += 2
    assert next(auth._flow(httpx.Request("GET", API))) is LOCK


def test_401_refreshes_once_and_replays_once() -> None:
    auth = make(tokens())
    request = httpx.Request("POST", API, json={"x": 1})
    flow = auth._flow(request)
    assert next(flow) is request
    assert flow.send(reply(request, 401)) is LOCK
    token_request = flow.send(None)
    assert flow.send(reply(token_request, json=body(2))) is UNLOCK
    assert flow.send(None) is request
    assert bearer(request) == "at-2-abcdefghijklmnopqrstuvwxyz"
    finish(flow, reply(request, 401))  # a second 401 is handed to the caller


def test_401_with_a_streaming_body_is_not_replayed() -> None:
    auth = make(tokens())
    request = httpx.Request("POST", API, content=iter([b"chunk"]))
    flow = auth._flow(request)
    assert next(flow) is request
    finish(flow, reply(request, 401))


def test_401_after_someone_else_refreshed_replays_without_refreshing() -> None:
    auth = make(tokens())
    request = httpx.Request("GET", API)
    flow = auth._flow(request)
    next(flow)
    auth.set_tokens(tokens())  # another request refreshed meanwhile (generation moved on)
    assert flow.send(reply(request, 401)) is LOCK
    assert flow.send(None) is UNLOCK
    assert flow.send(None) is request


def test_transient_failures_are_retried_with_backoff() -> None:
    auth = make(tokens(expires_in=0))
    request = httpx.Request("GET", API)
    flow = auth._flow(request)
    assert next(flow) is LOCK
    step = flow.send(None)
    assert flow.send(reply(step, 503)) == Sleep(0.5)
    step = flow.send(None)
    assert is_token_request(step)
    assert flow.throw(TransientError("network down")) == Sleep(1.0)
    step = flow.send(None)
    assert flow.send(reply(step, json=body(3))) is UNLOCK
    assert flow.send(None) is request
    assert bearer(request).startswith("at-3")


def test_retries_are_bounded_and_tokens_kept() -> None:
    auth = make(tokens(expires_in=0), max_retries=2)
    flow = auth._flow(httpx.Request("GET", API))
    assert next(flow) is LOCK
    step = flow.send(None)
    sleeps = []
    with pytest.raises(TransientError):
        while True:
            step = flow.send(reply(step, 502))
            sleeps.append(step)
            step = flow.send(None)
    assert sleeps == [Sleep(0.5), Sleep(1.0)]
    assert auth.tokens is not None and auth.tokens.access_token.startswith("at-0")


def test_rate_limit_reset_is_honoured() -> None:
    clock = Clock()
    auth = make(tokens(expires_in=0), clock)
    flow = auth._flow(httpx.Request("GET", API))
    next(flow)
    step = flow.send(None)
    headers = {
        "X-Rate-Limit-Reset": str(int(NOW + 7)),
        "Date": email.utils.formatdate(NOW, usegmt=True),
    }
    pause = flow.send(reply(step, 429, json={"errorCode": "E0000047"}, **headers))
    assert isinstance(pause, Sleep) and pause.seconds == pytest.approx(7.05, abs=0.01)


def test_rate_limit_far_away_is_raised_not_waited() -> None:
    auth = make(tokens(expires_in=0), max_wait=30)
    flow = auth._flow(httpx.Request("GET", API))
    next(flow)
    step = flow.send(None)
    headers = {"X-Rate-Limit-Reset": str(int(NOW + 600))}
    with pytest.raises(RateLimited) as info:
        flow.send(reply(step, 429, **headers))
    assert info.value.retry_at == NOW + 600


def test_early_refresh_failing_transiently_uses_the_still_valid_token(caplog: Any) -> None:
    clock = Clock()
    auth = make(tokens(), clock, max_retries=0)
    clock.now += 3570
    request = httpx.Request("GET", API)
    flow = auth._flow(request)
    next(flow)
    step = flow.send(None)
    with caplog.at_level(logging.WARNING, logger="okta_nb_auth"):
        assert flow.send(reply(step, 503)) is request
    assert bearer(request).startswith("at-0")
    assert "valid for 30 s more" in caplog.text


def test_no_refresh_token() -> None:
    clock = Clock()
    auth = make(tokens(expires_in=30, refresh=None), clock)
    request = httpx.Request("GET", API)
    assert next(auth._flow(request)) is request  # still valid: used without a refresh
    clock.now += 31
    flow = auth._flow(httpx.Request("GET", API))
    assert next(flow) is LOCK
    with pytest.raises(LoginRequired, match="offline_access"):
        flow.send(None)


def test_dead_refresh_token_is_not_sent_again() -> None:
    auth = make(tokens(expires_in=0))
    flow = auth._flow(httpx.Request("GET", API))
    next(flow)
    step = flow.send(None)
    error = {
        "error": "invalid_grant",
        "error_description": "The refresh token is invalid or expired.",
    }
    with pytest.raises(LoginRequired, match="Log in again"):
        flow.send(reply(step, 400, json=error))
    flow = auth._flow(httpx.Request("GET", API))
    assert next(flow) is LOCK
    with pytest.raises(LoginRequired, match="log in again"):
        flow.send(None)  # no token request this time


def test_unauthorized_client_is_config_error() -> None:
    auth = make(tokens(expires_in=0))
    flow = auth._flow(httpx.Request("GET", API))
    next(flow)
    step = flow.send(None)
    error = {"error": "unauthorized_client", "error_description": "Configured grant types: []."}
    with pytest.raises(ConfigError, match="Refresh Token grant type"):
        flow.send(reply(step, 400, json=error))


def test_missing_expires_in_keeps_current_tokens() -> None:
    auth = make(tokens(expires_in=0))
    flow = auth._flow(httpx.Request("GET", API))
    next(flow)
    step = flow.send(None)
    with pytest.raises(ProtocolError, match="expires_in"):
        flow.send(reply(step, json={"access_token": "x" * 30, "token_type": "Bearer"}))
    assert auth.tokens is not None and auth.tokens.access_token.startswith("at-0")


def test_waiters_share_a_success() -> None:
    auth = make(tokens(expires_in=0))
    a_req, b_req = httpx.Request("GET", API), httpx.Request("GET", API)
    a, b = auth._flow(a_req), auth._flow(b_req)
    assert next(a) is LOCK
    assert next(b) is LOCK  # b queues on the lock (its driver would block here)
    step = a.send(None)
    assert a.send(reply(step, json=body(5))) is UNLOCK
    assert b.send(None) is UNLOCK  # b got the lock: already refreshed, no token request
    assert b.send(None) is b_req
    assert bearer(b_req).startswith("at-5")


def test_waiters_share_a_failure_without_calling_again() -> None:
    auth = make(tokens(expires_in=0), max_retries=0)
    a, b = auth._flow(httpx.Request("GET", API)), auth._flow(httpx.Request("GET", API))
    next(a), next(b)
    step = a.send(None)
    with pytest.raises(TransientError) as first:
        a.send(reply(step, 500))
    with pytest.raises(TransientError) as second:
        b.send(None)  # b got the lock after a's failure: same error, no token request
    assert second.value is not first.value
    assert (second.value.status_code, str(second.value)) == (500, str(first.value))
    # A request arriving later tries again.
    c = auth._flow(httpx.Request("GET", API))
    next(c)
    assert is_token_request(c.send(None))


def test_skew_comes_from_the_date_header() -> None:
    auth = make(tokens(expires_in=0))
    flow = auth._flow(httpx.Request("GET", API))
    next(flow)
    step = flow.send(None)
    date = email.utils.formatdate(NOW + 3600, usegmt=True)  # server clock 1 h ahead
    flow.send(reply(step, json=body(1), Date=date))
    assert auth.skew == pytest.approx(3600, abs=1)
    assert auth.tokens is not None and auth.tokens.expires_at == NOW + 3600  # from expires_in


def test_failing_on_tokens_callback_is_logged_not_raised(caplog: Any) -> None:
    def broken(_: TokenSet) -> None:
        raise OSError("disk full")

    auth = make(tokens(expires_in=0), on_tokens=broken)
    request = httpx.Request("GET", API)
    flow = auth._flow(request)
    with caplog.at_level(logging.ERROR, logger="okta_nb_auth"):
        refresh_through(flow, request, lambda step: reply(step, json=body(1)))
    assert "on_tokens callback raised" in caplog.text


def test_client_credentials_fetches_without_refresh_token() -> None:
    config = OktaConfig(ISSUER, "svc", "s" * 40)
    auth = OktaAuth(config, grant="client_credentials", scopes=("demo.read",), discovery=cache())
    request = httpx.Request("GET", API)
    flow = auth._flow(request)
    assert next(flow) is LOCK
    step = flow.send(None)
    assert dict(parse_qsl(step.content.decode())) == {
        "grant_type": "client_credentials",
        "scope": "demo.read",
    }
    assert step.headers["Authorization"].startswith("Basic ")
    assert flow.send(reply(step, json=body(1))) is UNLOCK
    assert flow.send(None) is request


def test_bad_grant_name() -> None:
    with pytest.raises(ValueError, match="grant"):
        OktaAuth(OktaConfig(ISSUER, CLIENT_ID), grant="password")


def test_a_cancelled_attempt_does_not_resurrect_an_older_failure() -> None:
    auth = make(tokens(expires_in=0), max_retries=0)
    first = auth._flow(httpx.Request("GET", API))
    next(first)
    step = first.send(None)
    with pytest.raises(TransientError):
        first.send(reply(step, 500))  # attempt 1 fails and is remembered
    waiter = auth._flow(httpx.Request("GET", API))
    cancelled = auth._flow(httpx.Request("GET", API))
    next(cancelled)
    assert next(waiter) is LOCK  # queues behind the next attempt
    assert is_token_request(cancelled.send(None))  # attempt 2 starts ...
    cancelled.close()  # ... and its task is cancelled before the response arrives
    assert is_token_request(waiter.send(None))  # the waiter tries itself, not the old error


def test_auth_flow_is_the_sync_driver() -> None:
    auth = make(tokens())
    request = httpx.Request("GET", API)
    flow = auth.auth_flow(request)
    assert next(flow) is request and bearer(request).startswith("at-0")


def test_a_persistent_401_does_not_refresh_on_every_request() -> None:
    auth = make(tokens())
    calls = 0

    def run(api_status: int) -> int:
        nonlocal calls
        request = httpx.Request("GET", API)
        flow = auth._flow(request)
        step = next(flow)
        while True:
            if step is LOCK or step is UNLOCK:
                step = flow.send(None)
                continue
            if is_token_request(step):
                calls += 1
                step = flow.send(reply(step, json=body(10 + calls)))
                continue
            try:
                step = flow.send(reply(step, api_status))
            except StopIteration:
                return calls

    assert run(401) == 1  # refreshed once, replayed, still 401 (say, a wrong audience)
    assert run(401) == 1  # the new token was never accepted: no second refresh
    assert run(200) == 1  # the API accepts it again ...
    assert run(401) == 2  # ... so a later 401 refreshes once more
