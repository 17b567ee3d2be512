"""The fast path of OktaAuth's drivers: a valid token is attached with no lock and no driver;
everything else (a refresh within the leeway, a 401, a token awaiting the API's verdict) still
runs the one flow. Sync and async twins.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest
from fake_okta import CLIENT_ID, ISSUER, FakeOkta

from okta_nb_auth import (
    AsyncAuthSession,
    AuthSession,
    DiscoveryCache,
    OktaAuth,
    OktaConfig,
    TokenSet,
)
from okta_nb_auth._steps import Locks
from okta_nb_auth.devserver import DevServer

API = "https://api.example.com/data"
CONFIG = OktaConfig(ISSUER, CLIENT_ID)
ADA = "ada@example.com"


class CountingLock:
    """A thread lock that counts its acquisitions."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.taken = 0

    def acquire(self, blocking: bool = True) -> bool:
        self.taken += 1
        return self.lock.acquire(blocking)

    def release(self) -> None:
        self.lock.release()


def counting(auth: OktaAuth) -> CountingLock:
    lock = CountingLock()
    locks = Locks()
    locks.thread = lock  # type: ignore[assignment]
    auth._locks = locks
    return lock


def tokens(expires_in: float = 3600) -> TokenSet:
    return TokenSet(
        "at-live-abcdefghijklmnopqrstuv", time.time() + expires_in, refresh_token="r" * 30
    )


def auth_for(expires_in: float = 3600, **kwargs: Any) -> OktaAuth:
    return OktaAuth(
        CONFIG, tokens(expires_in), discovery=DiscoveryCache(), verify_id_tokens=False, **kwargs
    )


def test_a_valid_token_is_attached_without_a_lock() -> None:
    fake = FakeOkta()
    auth = auth_for()
    lock = counting(auth)
    with AuthSession(CONFIG, okta_auth=auth, transport=fake.transport()) as session:
        answers = [session.get(API).json()["auth"] for _ in range(3)]
    assert answers == ["Bearer at-live-abcdefghijklmno"] * 3
    assert lock.taken == 0 and fake.token_calls == []


def test_a_token_within_the_leeway_takes_the_lock_and_refreshes() -> None:
    fake = FakeOkta()
    clock = [time.time()]
    auth = auth_for(clock=lambda: clock[0])
    lock = counting(auth)
    with AuthSession(CONFIG, okta_auth=auth, transport=fake.transport()) as session:
        clock[0] += 3590  # 10 s left, within the 60 s leeway
        assert session.get(API).json()["auth"].startswith("Bearer access-token-number-")
        assert session.get(API).json()["auth"].startswith("Bearer access-token-number-")
    assert lock.taken == 1 and len(fake.token_calls) == 1


@pytest.mark.anyio
async def test_async_a_valid_token_is_attached_without_a_lock() -> None:
    fake = FakeOkta()
    auth = auth_for()
    lock = counting(auth)
    async with AsyncAuthSession(CONFIG, okta_auth=auth, transport=fake.transport()) as session:
        answers = [(await session.get(API)).json()["auth"] for _ in range(3)]
    assert answers == ["Bearer at-live-abcdefghijklmno"] * 3
    assert lock.taken == 0 and fake.token_calls == []


def test_a_200_after_a_persistent_401_rearms_the_401_refresh() -> None:
    # 401, refresh, replay 401 (the new token is suspect: no second refresh); a 200 on the
    # fast path accepts it, so the next 401 refreshes again.
    fake = FakeOkta()
    fake.api_status = [401, 401, 401, 200, 401]
    with AuthSession(CONFIG, okta_auth=auth_for(), transport=fake.transport()) as session:
        statuses = [session.get(API).status_code for _ in range(4)]
    assert statuses == [401, 401, 200, 200]
    assert len(fake.token_calls) == 2


@pytest.mark.anyio
async def test_async_a_200_after_a_persistent_401_rearms_the_401_refresh() -> None:
    fake = FakeOkta()
    fake.api_status = [401, 401, 401, 200, 401]
    async with AsyncAuthSession(
        CONFIG, okta_auth=auth_for(), transport=fake.transport()
    ) as session:
        statuses = [(await session.get(API)).status_code for _ in range(4)]
    assert statuses == [401, 401, 200, 200]
    assert len(fake.token_calls) == 2


class Streamed(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that counts how often it is read."""

    def __init__(self) -> None:
        self.reads = 0

    def __iter__(self) -> Iterator[bytes]:
        self.reads += 1
        yield b"streamed"

    async def __aiter__(self) -> Any:
        self.reads += 1
        yield b"streamed"


class StreamingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers with ``status`` and a streamed body; records the request stream it got."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[object] = []
        self.answer = Streamed()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.stream)
        b"".join(request.stream)  # type: ignore[arg-type]
        return httpx.Response(self.status, stream=self.answer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.stream)
        async for _ in request.stream:  # type: ignore[union-attr]
            pass
        return httpx.Response(self.status, stream=self.answer)


def test_streams_are_neither_buffered_nor_replayed() -> None:
    body = Streamed()
    for status in (200, 401):
        transport = StreamingTransport(status)
        with AuthSession(CONFIG, okta_auth=auth_for(), transport=transport) as session:
            with session.stream("POST", API, content=body) as response:
                assert response.status_code == status
                assert transport.answer.reads == 0  # the API's body is the caller's to read
                assert response.read() == b"streamed"
        # Sent once, as a stream (never read into a ByteStream first), and not replayed.
        assert [type(sent) is httpx.ByteStream for sent in transport.bodies] == [False]
    assert body.reads == 2


@pytest.mark.anyio
async def test_async_streams_are_neither_buffered_nor_replayed() -> None:
    reads = []

    async def body() -> AsyncIterator[bytes]:
        reads.append(1)
        yield b"streamed"

    for status in (200, 401):
        transport = StreamingTransport(status)
        async with AsyncAuthSession(CONFIG, okta_auth=auth_for(), transport=transport) as s:
            async with s.stream("POST", API, content=body()) as response:
                assert response.status_code == status
                assert transport.answer.reads == 0
                assert await response.aread() == b"streamed"
        assert [type(sent) is httpx.ByteStream for sent in transport.bodies] == [False]
    assert len(reads) == 2


def test_a_new_leeway_applies_to_the_next_request(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", access_token_ttl=300)
    config = fresh_dev.config("native")
    with AuthSession(config, fresh_dev.login_as(ADA), clock=fresh_dev.now) as session:
        fresh_dev.clear_events()
        fresh_dev.advance_clock(200)  # 100 s left: beyond the 60 s leeway
        assert session.get(fresh_dev.api_url + "/whoami").status_code == 200
        assert refreshes(fresh_dev) == 0
        session.okta_auth.leeway = 120.0  # now within it (half the lifetime is 150 s)
        assert session.get(fresh_dev.api_url + "/whoami").status_code == 200
        assert refreshes(fresh_dev) == 1


@pytest.mark.anyio
async def test_async_a_new_leeway_applies_to_the_next_request(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", access_token_ttl=300)
    config = fresh_dev.config("native")
    tokens = fresh_dev.login_as(ADA)
    async with AsyncAuthSession(config, tokens, clock=fresh_dev.now) as session:
        fresh_dev.clear_events()
        fresh_dev.advance_clock(200)
        assert (await session.get(fresh_dev.api_url + "/whoami")).status_code == 200
        assert refreshes(fresh_dev) == 0
        session.okta_auth.leeway = 120.0
        assert (await session.get(fresh_dev.api_url + "/whoami")).status_code == 200
        assert refreshes(fresh_dev) == 1


def refreshes(dev: DevServer) -> int:
    return sum(1 for e in dev.events if e.endpoint == "token" and e.grant_type == "refresh_token")


def test_threads_on_the_fast_path_see_each_refresh_whole() -> None:
    # Requests in threads while another thread keeps refreshing: each request carries one
    # of the tokens the auth held (never a mix), and the API always accepts it.
    fake = FakeOkta()
    auth = auth_for()
    issued = {f"Bearer {auth.tokens.access_token}"} if auth.tokens else set()
    sent: list[str] = []
    stop = threading.Event()

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.example.com":
            sent.append(request.headers["Authorization"])
        return fake.handle(request)

    transport = httpx.MockTransport(handle)
    with AuthSession(CONFIG, okta_auth=auth, transport=transport) as session:

        def refresher() -> None:
            for _ in range(20):
                issued.add(f"Bearer {session.refresh().access_token}")
            stop.set()

        def caller(out: list[int]) -> None:
            for _ in range(2000):  # bounded; usually ends far earlier
                out.append(session.get(API).status_code)
                if stop.is_set():
                    return

        statuses: list[list[int]] = [[] for _ in range(4)]
        threads = [threading.Thread(target=caller, args=(out,)) for out in statuses]
        threads.append(threading.Thread(target=refresher))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert set(sent) <= issued and len(sent) == sum(map(len, statuses))
    assert {s for out in statuses for s in out} == {200}
    assert len(fake.token_calls) == 20


@pytest.mark.anyio
async def test_async_tasks_share_one_refresh_after_the_fast_path() -> None:
    # Tokens valid, then within the leeway: 20 tasks, one token call.
    fake = FakeOkta()
    clock = [time.time()]
    auth = OktaAuth(
        CONFIG, tokens(), discovery=DiscoveryCache(), verify_id_tokens=False, clock=lambda: clock[0]
    )
    async with AsyncAuthSession(CONFIG, okta_auth=auth, transport=fake.transport()) as session:
        assert (await session.get(API)).status_code == 200
        clock[0] += 3590
        statuses: list[int] = []

        async def one() -> None:
            statuses.append((await session.get(API)).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one)
    assert statuses == [200] * 20 and len(fake.token_calls) == 1


def test_only_a_token_that_needs_something_runs_the_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast path is what keeps a request's cost near plain httpx (bench/bench_client.py).
    fake = FakeOkta()
    clock = [time.time()]
    auth = auth_for(clock=lambda: clock[0])
    flows: list[httpx.Request] = []
    full_flow = auth._flow

    def counted(request: httpx.Request) -> Any:
        flows.append(request)
        return full_flow(request)

    monkeypatch.setattr(auth, "_flow", counted)
    with AuthSession(CONFIG, okta_auth=auth, transport=fake.transport()) as session:
        session.get(API)
        assert flows == []
        clock[0] += 3590
        session.get(API)
        session.get(API)
    assert len(flows) == 1 and len(fake.token_calls) == 1
