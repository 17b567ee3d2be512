"""OktaAuth's flow, pinned down to what a mutation run changes: when a token is refreshed
early (and when it is not), the lifetime bookkeeping behind that after a login or a refresh,
what on_tokens hears, the 401 guard after a new login, rate limits without a reset, shared
failures, and the exact messages. Flows are driven by hand with a fake clock: no waiting."""

from __future__ import annotations

import logging
import pickle
from typing import Any

import httpx
import pytest
from test_auth_unit import (
    API,
    NOW,
    Clock,
    body,
    is_token_request,
    make,
    refresh_through,
    reply,
    tokens,
)

from okta_nb_auth import (
    DiscoveryCache,
    LoginRequired,
    OktaAuth,
    OktaConfig,
    PicklingRefused,
    RateLimited,
    TokenSet,
    TransientError,
)
from okta_nb_auth._steps import LOCK, UNLOCK, Sleep


def first_step(auth: OktaAuth) -> object:
    return next(auth._flow(httpx.Request("GET", API)))


def refreshes_now(auth: OktaAuth) -> bool:
    step = first_step(auth)
    assert step is LOCK or isinstance(step, httpx.Request)
    return step is LOCK


def refresh(auth: OktaAuth, answer: dict[str, Any], **headers: str) -> None:
    request = httpx.Request("GET", API)
    refresh_through(auth._flow(request), request, lambda step: reply(step, json=answer, **headers))


def token_answer(auth: OktaAuth, status: int, **headers: str) -> object:
    """Start a refresh of an expired token and answer its token call; the flow's next step."""
    flow = auth._flow(httpx.Request("GET", API))
    assert next(flow) is LOCK
    step = flow.send(None)
    return flow.send(reply(step, status, json={"errorCode": "E0000047"}, **headers))


# ------------------------------------------------------------------ early refresh


def test_without_a_refresh_token_the_token_is_used_until_it_expires() -> None:
    clock = Clock()
    auth = make(tokens(refresh=None), clock)
    clock.now += 3570  # 30 s left: inside the leeway, but nothing could refresh it
    assert not refreshes_now(auth)
    clock.now += 29.5  # half a second left
    assert not refreshes_now(auth)
    clock.now += 0.5
    assert refreshes_now(auth)  # expired: the flow goes on to say LoginRequired


def test_client_credentials_are_fetched_again_ahead_of_expiry() -> None:
    clock = Clock()
    config = OktaConfig("https://example.okta.com/oauth2/default", "svc", "s" * 40)
    auth = OktaAuth(
        config,
        tokens(refresh=None),
        grant="client_credentials",
        clock=clock,
        discovery=DiscoveryCache(),
    )
    clock.now += 3530
    assert not refreshes_now(auth)
    clock.now += 20  # 50 s left: inside the 60 s leeway, and a new token is a call away
    assert refreshes_now(auth)


def test_a_login_set_later_is_refreshed_ahead_of_expiry() -> None:
    clock = Clock()
    auth = make(None, clock)
    auth.set_tokens(tokens(expires_in=3600))
    clock.now += 3530
    assert not refreshes_now(auth)
    clock.now += 20  # 50 s left: inside the 60 s leeway
    assert refreshes_now(auth)


def test_a_short_login_set_later_is_refreshed_at_half_its_lifetime() -> None:
    clock = Clock()  # far from the wall clock: the lifetime must come from this clock
    auth = make(None, clock)
    auth.set_tokens(tokens(expires_in=100))
    clock.now += 45
    assert not refreshes_now(auth)
    clock.now += 10
    assert refreshes_now(auth)


def test_a_token_with_under_a_second_left_is_used_until_half_its_lifetime() -> None:
    clock = Clock()
    auth = make(tokens(expires_in=0.4), clock)
    assert not refreshes_now(auth)
    clock.now += 0.25
    assert refreshes_now(auth)


def test_a_short_lived_refreshed_token_is_refreshed_at_half_its_lifetime() -> None:
    clock = Clock()
    auth = make(tokens(expires_in=0), clock)
    refresh(auth, body(1, expires_in=100))  # the next token lives 100 s: leeway 50 s
    clock.now += 45
    assert not refreshes_now(auth)
    clock.now += 10
    assert refreshes_now(auth)


def test_the_lifetime_runs_from_when_the_request_was_sent() -> None:
    clock = Clock()
    auth = make(tokens(expires_in=0), clock)
    request = httpx.Request("GET", API)
    flow = auth._flow(request)
    assert next(flow) is LOCK
    step = flow.send(None)
    clock.now += 20  # the token endpoint took 20 s to answer
    assert flow.send(reply(step, json=body(1, expires_in=100))) is UNLOCK
    assert auth.tokens is not None and auth.tokens.expires_at == NOW + 100
    clock.now += 24  # 56 s left of a 100 s lifetime: leeway 50 s, no refresh yet
    assert not refreshes_now(auth)
    clock.now += 8
    assert refreshes_now(auth)


def test_the_server_clock_is_ours_until_a_date_header_says_otherwise() -> None:
    auth = make(tokens(expires_in=0))
    assert auth.skew == 0.0
    refresh(auth, body(1))
    assert auth.skew == 0.0


# ------------------------------------------------------------------ on_tokens and logins


def test_a_login_is_announced_to_on_tokens_only_when_asked() -> None:
    seen: list[TokenSet] = []
    auth = make(None, on_tokens=seen.append)
    quiet, loud = tokens(), tokens(expires_in=1800)
    auth.set_tokens(quiet)
    auth.set_tokens(loud, notify=True)
    auth.set_tokens(None, notify=True)  # forgetting is not news for on_tokens
    assert seen == [loud]


def test_a_login_clears_the_last_error_and_takes_its_claims() -> None:
    auth = make(tokens(expires_in=0), max_retries=0)
    assert auth.last_error is None  # nothing has failed yet
    with pytest.raises(TransientError):
        token_answer(auth, 500)
    assert auth.last_error is not None
    auth.set_tokens(tokens(), id_claims={"sub": "00uada"})
    assert auth.last_error is None and auth.id_claims == {"sub": "00uada"}


def test_a_failing_on_tokens_callback_is_logged_by_name(caplog: Any) -> None:
    def broken(_: TokenSet) -> None:
        raise OSError("disk full")

    auth = make(None, on_tokens=broken)
    with caplog.at_level(logging.ERROR, logger="okta_nb_auth"):
        auth.set_tokens(tokens(), notify=True)
    assert [r.getMessage() for r in caplog.records] == ["The on_tokens callback raised"]


def test_an_okta_auth_is_never_pickled() -> None:
    with pytest.raises(PicklingRefused) as info:
        pickle.dumps(make(tokens()))
    assert str(info.value).startswith(
        "An OktaAuth (the holder of a login's refresh token) holds a token or secret"
    )


def test_an_unknown_grant_is_refused_by_name() -> None:
    with pytest.raises(ValueError) as info:
        make(None, grant="password")
    assert str(info.value) == "grant must be 'refresh_token' or 'client_credentials'"


# ------------------------------------------------------------------ the 401 guard


class Api:
    """Runs requests through ``auth``'s flow: the token endpoint answers, the API gives the
    scripted statuses (the last one repeats); counts token calls."""

    def __init__(self, auth: OktaAuth) -> None:
        self.auth, self.calls = auth, 0

    def run(self, *statuses: int) -> int:
        answers = list(statuses)
        flow = self.auth._flow(httpx.Request("GET", API))
        step, before = next(flow), self.calls
        while True:
            if step is LOCK or step is UNLOCK:
                step = flow.send(None)
            elif is_token_request(step):
                self.calls += 1
                step = flow.send(reply(step, json=body(20 + self.calls)))
            else:
                status = answers.pop(0) if len(answers) > 1 else answers[0]
                try:
                    step = flow.send(reply(step, status))
                except StopIteration:
                    return self.calls - before


def test_after_a_new_login_a_401_refreshes_again() -> None:
    api = Api(make(tokens()))
    assert api.run(401) == 1
    assert api.run(401) == 0  # the guard: no refresh storm on a persistent 401
    api.auth.set_tokens(tokens())  # a new login: its token deserves one refresh on a 401
    assert api.run(401) == 1


def test_an_accepted_token_lifts_the_401_guard() -> None:
    api = Api(make(tokens()))
    api.auth.set_tokens(tokens())  # generations and attempts no longer run in step
    assert api.run(401) == 1
    assert api.run(401) == 0
    assert api.run(200) == 0
    assert api.run(401) == 1


def test_a_replay_the_api_accepts_lifts_the_401_guard() -> None:
    api = Api(make(tokens()))
    assert api.run(401, 200) == 1  # refreshed, replayed, accepted
    assert api.run(401, 401) == 1  # so a later 401 may refresh once more


# ------------------------------------------------------------------ rate limits and retries


def test_a_429_without_a_reset_header_backs_off_like_any_transient_failure() -> None:
    assert token_answer(make(tokens(expires_in=0)), 429) == Sleep(0.5)


def test_a_reset_within_the_default_max_wait_is_waited_for() -> None:
    reset = {"X-Rate-Limit-Reset": str(int(NOW + 30))}
    assert token_answer(make(tokens(expires_in=0)), 429, **reset) == Sleep(30.05)


def test_a_reset_already_past_waits_only_a_moment() -> None:
    reset = {"X-Rate-Limit-Reset": str(int(NOW - 10))}
    assert token_answer(make(tokens(expires_in=0)), 429, **reset) == Sleep(0.05)


def test_a_reset_beyond_the_default_max_wait_is_raised_at_once() -> None:
    with pytest.raises(RateLimited):
        token_answer(make(tokens(expires_in=0)), 429, **{"X-Rate-Limit-Reset": str(int(NOW + 31))})


def test_backoff_doubles_up_to_max_wait() -> None:
    auth = make(tokens(expires_in=0), max_retries=5, max_wait=1.5)
    flow = auth._flow(httpx.Request("GET", API))
    next(flow)
    step, sleeps = flow.send(None), []
    for _ in range(4):
        sleeps.append(flow.send(reply(step, 503)))
        step = flow.send(None)
    assert sleeps == [Sleep(0.5), Sleep(1.0), Sleep(1.5), Sleep(1.5)]


def test_three_retries_by_default() -> None:
    auth = make(tokens(expires_in=0))
    flow = auth._flow(httpx.Request("GET", API))
    next(flow)
    step, sleeps = flow.send(None), []
    with pytest.raises(TransientError):
        while True:
            sleeps.append(flow.send(reply(step, 503)))
            step = flow.send(None)
    assert sleeps == [Sleep(0.5), Sleep(1.0), Sleep(2.0)]


# ------------------------------------------------------------------ failures


def test_an_early_refresh_that_fails_uses_the_token_and_says_why(caplog: Any) -> None:
    clock = Clock()
    auth = make(tokens(), clock, max_retries=0)
    clock.now += 3599.5  # half a second left: still good for this request
    request = httpx.Request("GET", API)
    flow = auth._flow(request)
    next(flow)
    step = flow.send(None)
    with caplog.at_level(logging.WARNING, logger="okta_nb_auth"):
        assert flow.send(reply(step, 503)) is request
    assert [r.getMessage() for r in caplog.records] == [
        "Refreshing the access token failed (TransientError); using the current one, valid "
        "for 0 s more."
    ]


def test_waiters_share_a_failure_with_its_cause() -> None:
    auth = make(tokens(expires_in=0), max_retries=0)
    a, b = auth._flow(httpx.Request("GET", API)), auth._flow(httpx.Request("GET", API))
    next(a), next(b)
    a.send(None)
    failure = TransientError("network down")
    failure.__cause__ = OSError("connection reset")
    with pytest.raises(TransientError):
        a.throw(failure)
    with pytest.raises(TransientError) as shared:
        b.send(None)
    assert shared.value is not failure and shared.value.__cause__ is failure.__cause__


def test_waiters_share_each_new_failure_too() -> None:
    auth = make(tokens(expires_in=0), max_retries=0)
    for _ in range(2):  # the second round must share its own failure just the same
        a, b = auth._flow(httpx.Request("GET", API)), auth._flow(httpx.Request("GET", API))
        next(a), next(b)
        step = a.send(None)
        with pytest.raises(TransientError):
            a.send(reply(step, 500))
        with pytest.raises(TransientError):
            b.send(None)  # no token request of its own


def test_a_request_queued_behind_a_refresh_and_a_login_does_not_refresh_again() -> None:
    auth = make(tokens(expires_in=0))
    first, queued = auth._flow(httpx.Request("GET", API)), auth._flow(httpx.Request("GET", API))
    next(first), next(queued)  # both saw the same expired token
    step = first.send(None)
    assert first.send(reply(step, json=body(1))) is UNLOCK
    auth.set_tokens(tokens())  # and then a login
    assert queued.send(None) is UNLOCK


def test_a_request_queued_behind_a_second_refresh_does_not_refresh_again() -> None:
    clock = Clock()
    auth = make(tokens(expires_in=0), clock=clock)
    refresh(auth, body(1))
    clock.now += 3600  # the refreshed token is due in turn
    first, queued = auth._flow(httpx.Request("GET", API)), auth._flow(httpx.Request("GET", API))
    next(first), next(queued)  # both saw the same expired token
    step = first.send(None)
    assert first.send(reply(step, json=body(2))) is UNLOCK
    assert queued.send(None) is UNLOCK  # the second refresh counts as new tokens, too


def test_a_logout_while_a_request_waits_for_the_lock_leaves_it_unsigned() -> None:
    auth = make(tokens(expires_in=0))
    flow = auth._flow(httpx.Request("GET", API))
    assert next(flow) is LOCK
    auth.set_tokens(None)  # logged out meanwhile
    assert flow.send(None) is UNLOCK
    with pytest.raises(LoginRequired) as info:
        flow.send(None)
    assert str(info.value) == "There are no tokens: log in first."


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (None, "There are no tokens yet: log in first."),
        (tokens(refresh=None, expires_in=0),
         "There is no refresh token, so the access token cannot be renewed: log in again. To "
         "stay logged in, request the offline_access scope and enable the Refresh Token grant "
         "type for the app."),
    ],
    ids=["no-tokens", "no-refresh-token"],
)  # fmt: skip
def test_what_cannot_be_refreshed_says_how_to_log_in(start: TokenSet | None, message: str) -> None:
    flow = make(start)._flow(httpx.Request("GET", API))
    assert next(flow) is LOCK
    with pytest.raises(LoginRequired) as info:
        flow.send(None)
    assert str(info.value) == message


def test_a_refused_refresh_token_is_not_sent_again_and_says_so() -> None:
    auth = make(tokens(expires_in=0))
    flow = auth._flow(httpx.Request("GET", API))
    next(flow)
    step = flow.send(None)
    with pytest.raises(LoginRequired):
        flow.send(reply(step, 400, json={"error": "invalid_grant"}))
    flow = auth._flow(httpx.Request("GET", API))
    next(flow)
    with pytest.raises(LoginRequired) as info:
        flow.send(None)
    assert str(info.value) == "The refresh token was refused by Okta: log in again."


def test_client_credentials_refused_at_the_first_fetch_say_log_in() -> None:
    config = OktaConfig("https://example.okta.com/oauth2/default", "svc", "s" * 40)
    auth = OktaAuth(config, grant="client_credentials", clock=Clock(), discovery=DiscoveryCache())
    flow = auth._flow(httpx.Request("GET", API))
    next(flow)
    step = flow.send(None)  # discovery: answer it, then the token call
    while not is_token_request(step):
        step = flow.send(reply(step, json=discovery_document()))
    with pytest.raises(LoginRequired):
        flow.send(reply(step, 400, json={"error": "invalid_grant"}))


def discovery_document() -> dict[str, str]:
    base = "https://example.okta.com/oauth2/default"
    return {"issuer": base, "token_endpoint": f"{base}/v1/token", "jwks_uri": f"{base}/v1/keys"}
