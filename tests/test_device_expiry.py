"""The device flow stops when its code expires, whatever the server asks it to wait; and a
device authorization answer with a number that is no number is a typed error."""

from __future__ import annotations

import time

import httpx
import pytest
from fake_okta import CLIENT_ID, ISSUER, FakeOkta, json_response

from okta_nb_auth import AuthSession, LoginTimeout, OktaConfig, ProtocolError
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.logins._device import (
    DeviceCode,
    PollStatus,
    Waiter,
    device_login,
    poll_device,
    start_device,
)

CONFIG = OktaConfig(issuer=ISSUER, client_id=CLIENT_ID)
PENDING = json_response(400, {"error": "authorization_pending"})
SLOW_DOWN = json_response(400, {"error": "slow_down"})


class FakeTime:
    """The flow's clock and sleep: sleeping moves the clock, and nothing really waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def expire(script: list[httpx.Response], expires_in: float, interval: float) -> FakeTime:
    """Poll a scripted server until the flow gives up; its LoginTimeout is checked here."""
    fake, clock = FakeOkta(), FakeTime()
    fake.token_script = list(script)
    code = DeviceCode("ABCD-EFGH", "https://x/activate", None, expires_in, interval, "dc")
    with AuthSession(CONFIG, transport=fake.transport()) as session:
        with pytest.raises(LoginTimeout, match="expire"):
            poll_device(CONFIG, session, code, waiter=Waiter(sleep=clock.sleep, clock=clock))
    return clock


def test_a_rate_limit_reset_after_the_expiry_ends_the_polling_at_once() -> None:
    reset = str(int(time.time()) + 3600)
    limited = json_response(429, {"errorCode": "E0000047"}, **{"X-Rate-Limit-Reset": reset})
    clock = expire([PENDING, limited, PENDING], expires_in=30, interval=5)
    assert clock.sleeps == [5.0, 5.0]  # not the hour the 429 asked for


def test_slow_down_never_waits_past_the_expiry() -> None:
    clock = expire([SLOW_DOWN] * 5, expires_in=20, interval=5)
    assert clock.sleeps == [5.0, 10.0]  # the next wait, 15 s, would end after the expiry
    assert sum(clock.sleeps) <= 20


def test_a_429_from_the_dev_server_is_waited_out_only_while_the_code_lives(
    fresh_dev: DevServer,
) -> None:
    fresh_dev.configure_app("native", device_interval=1, device_code_ttl=90)
    fresh_dev.inject_fault(429, count=2)  # each asks for 60 s, the code lives 90 s
    clock = FakeTime()
    polls: list[PollStatus] = []
    with pytest.raises(LoginTimeout, match="expires before the next poll"):
        device_login(
            fresh_dev.config("native"), sleep=clock.sleep, clock=clock, on_poll=polls.append
        )
    assert [p.state for p in polls] == ["retrying", "retrying"]
    assert clock.sleeps[0] == 1.0 and 10 < clock.sleeps[1] <= 61  # the first 429: waited
    assert len(clock.sleeps) == 2 and sum(clock.sleeps) < 90  # the second: not


def device_answer(expires_in: str) -> httpx.MockTransport:
    fake = FakeOkta()
    body = (
        '{"device_code": "dc", "user_code": "ABCD-EFGH", "verification_uri": "https://x/a",'
        f' "expires_in": {expires_in}}}'
    )

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/v1/device/authorize"):
            return httpx.Response(200, content=body.encode(), headers={"Content-Type": "json"})
        return fake.handle(request)

    return httpx.MockTransport(handle)


@pytest.mark.parametrize("expires_in", ["1e999", "Infinity", "NaN", "1" + "0" * 400])
def test_an_expires_in_that_is_no_finite_number_is_a_protocol_error(expires_in: str) -> None:
    with AuthSession(CONFIG, transport=device_answer(expires_in)) as session:
        with pytest.raises(ProtocolError, match="expires_in"):
            start_device(CONFIG, session)
