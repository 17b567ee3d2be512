"""The engine-neutral broker parts (okta_nb_auth.brokers): BorrowedAuth, Lending, sealing.

Against the running dev server where behaviour is concerned (many borrowers, one refresh);
``httpx.MockTransport`` only to make an API answer 401 forever.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from okta_nb_auth import (
    AsyncAuthSession,
    AuthSession,
    LoginRequired,
    PicklingRefused,
    ProtocolError,
    TransientError,
)
from okta_nb_auth._steps import Flow
from okta_nb_auth.brokers import BorrowedAuth, Lending, LocalLender, Parcel
from okta_nb_auth.brokers._seal import Opener, seal
from okta_nb_auth.dask._broker import _checked
from okta_nb_auth.devserver import DevServer

ADA = "ada@example.com"


@pytest.fixture
def session(fresh_dev: DevServer) -> Iterator[AuthSession]:
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=300)
    with AuthSession(fresh_dev.config("native"), fresh_dev.login_as(ADA)) as signed_in:
        yield signed_in


def _token_calls(dev: DevServer) -> int:
    return sum(e.endpoint == "token" for e in dev.events)


class Counting:
    """A lender that counts asks and answers with what ``answer`` gives."""

    def __init__(self, answer: Any) -> None:
        self.answer, self.asks = answer, []

    def borrow(self, have: str | None, refused: bool, recipient: str) -> Flow[Parcel]:
        self.asks.append((have, refused))
        return self.answer(have, refused, recipient)
        yield  # a flow


def test_many_borrowers_refused_at_once_cost_one_refresh(
    fresh_dev: DevServer, session: AuthSession
) -> None:
    lending = Lending(session.okta_auth, "the test's session")
    borrowers = [BorrowedAuth(LocalLender(lending.answer)) for _ in range(8)]
    url = f"{fresh_dev.api_url}/whoami"
    for auth in borrowers:  # each borrows the current token
        assert httpx.get(url, auth=auth).status_code == 200
    fresh_dev.clear_events()
    fresh_dev.expire_access_tokens(ADA)
    start, answers = threading.Barrier(len(borrowers)), []

    def call(auth: BorrowedAuth) -> None:
        start.wait(timeout=10)
        answers.append(httpx.get(url, auth=auth, timeout=10))

    threads = [threading.Thread(target=call, args=(auth,)) for auth in borrowers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [r.status_code for r in answers] == [200] * 8
    assert all(len(r.history) == 1 for r in answers)  # each: one 401, one replay
    assert _token_calls(fresh_dev) == 1  # ROTATE, grace 0: a second refresh would kill all
    assert lending.tokens_lent == 16


def test_a_valid_lease_signs_without_asking(fresh_dev: DevServer, session: AuthSession) -> None:
    lender = Counting(Lending(session.okta_auth).answer)
    auth = BorrowedAuth(lender)
    with auth.client() as http:
        assert all(http.get(f"{fresh_dev.api_url}/whoami").status_code == 200 for _ in range(20))
    assert lender.asks == [(None, False)] and auth.asks == 1


def test_a_lease_due_within_the_leeway_is_renewed_before_use(
    fresh_dev: DevServer, session: AuthSession
) -> None:
    now = [0.0]
    lending = Lending(session.okta_auth)
    auth = BorrowedAuth(LocalLender(lending.answer), leeway=60, clock=lambda: now[0])
    with auth.client() as http:
        http.get(f"{fresh_dev.api_url}/whoami")
        first = auth.lease
        assert first is not None and first.margin == 60
        now[0] = first.expires_at - 61  # still beyond the margin: no ask
        http.get(f"{fresh_dev.api_url}/whoami")
        assert auth.asks == 1
        now[0] = first.expires_at - 59  # within it: ask; the holder refreshes once
        assert http.get(f"{fresh_dev.api_url}/whoami").status_code == 200
    assert auth.asks == 2 and auth.lease is not None and auth.lease.key != first.key
    assert _token_calls(fresh_dev) == 1


def test_a_persistent_401_gets_one_replay_not_a_storm(session: AuthSession) -> None:
    lender = Counting(Lending(session.okta_auth).answer)
    api = httpx.MockTransport(lambda request: httpx.Response(401))
    with BorrowedAuth(lender).client(transport=api) as http:
        first = http.get("https://api.example/items")
        again = http.get("https://api.example/items")
    assert first.status_code == again.status_code == 401
    assert len(first.history) == 1 and not again.history
    assert [refused for _, refused in lender.asks] == [False, True]


def test_the_lenders_errors_arrive_typed(session: AuthSession) -> None:
    auth = BorrowedAuth(Counting(lambda *_: Parcel("", error="transient", message="later")))
    with pytest.raises(TransientError, match="later"), auth.client() as http:
        http.get("https://api.example/items")
    auth = BorrowedAuth(LocalLender(Lending(session.okta_auth).answer))
    with auth.client(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as http:
        http.get("https://api.example/items")
        assert auth.lease is not None
        session.logout()
        auth.drop()  # what a broker's push of the logout does
        with pytest.raises(LoginRequired, match="Log in again in the session lending tokens"):
            http.get("https://api.example/items")
    assert auth.lease is None


@pytest.mark.anyio
async def test_async_clients_borrow_too(fresh_dev: DevServer, session: AuthSession) -> None:
    auth = BorrowedAuth(LocalLender(Lending(session.okta_auth).answer))
    async with auth.async_client() as http:
        answers = [await http.get(f"{fresh_dev.api_url}/whoami") for _ in range(3)]
    assert [r.status_code for r in answers] == [200] * 3 and auth.asks == 1


def test_an_async_session_can_lend(fresh_dev: DevServer) -> None:
    async_session = AsyncAuthSession(fresh_dev.config("native"), fresh_dev.login_as(ADA))
    auth = BorrowedAuth(LocalLender(Lending(async_session.okta_auth).answer))
    assert httpx.get(f"{fresh_dev.api_url}/whoami", auth=auth).status_code == 200
    async_session.okta_auth.close()  # the sync client it made for lending


def test_a_sealed_token_opens_for_its_recipient_only() -> None:
    mine, other = Opener(), Opener()
    sealed = seal("token-value", mine.public, "k|1|2")
    assert "token-value" not in sealed and mine.open(sealed, "k|1|2") == "token-value"
    for opener, context, box in ((other, "k|1|2", sealed), (mine, "k|1|3", sealed)):
        with pytest.raises(ProtocolError):
            opener.open(box, context)
    with pytest.raises(ProtocolError):
        mine.open(sealed[:-4] + "AAAA", "k|1|2")
    with pytest.raises(ProtocolError):
        seal("token-value", "not a key", "k")


@pytest.mark.parametrize("wire", [None, [], {"sealed": "x"}, {"key": 3}])
def test_a_parcel_that_is_not_one_is_a_protocol_error(wire: object) -> None:
    with pytest.raises(ProtocolError):
        Parcel.from_wire(wire)


@pytest.mark.parametrize(
    "ask",
    [
        None,
        {"worker": "tcp://w", "nonce": "n", "refused": "yes", "to": "k", "have": None},
        {"worker": "tcp://w", "nonce": "n", "refused": False, "to": "k", "have": 7},
        {"nonce": "n", "refused": False, "to": "k", "have": None},
    ],
)
def test_a_malformed_ask_is_refused(ask: object) -> None:
    with pytest.raises(ProtocolError):
        _checked(ask)


def test_borrowers_show_and_pickle_no_token(session: AuthSession) -> None:
    auth = BorrowedAuth(LocalLender(Lending(session.okta_auth).answer))
    with auth.client(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as http:
        http.get("https://api.example/items")
    assert session.tokens is not None and auth.lease is not None
    assert session.tokens.access_token[:12] not in repr(auth) + repr(auth.lease)
    for thing in (auth, auth.lease, Opener()):
        with pytest.raises(PicklingRefused):
            pickle.dumps(thing)


def test_watchers_hear_of_every_change(session: AuthSession) -> None:
    heard: list[bool] = []

    def watcher() -> None:
        heard.append(session.tokens is None)

    session.okta_auth.watch(watcher)
    session.refresh()
    session.logout()
    session.okta_auth.unwatch(watcher)
    session.okta_auth.set_tokens(None)
    assert heard == [False, True]
