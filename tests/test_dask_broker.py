"""Issue 13: Dask workers call the dev server's API with access tokens borrowed from the
notebook's session, over a real ``distributed.LocalCluster`` of worker processes.

The refresh token never leaves this process: workers ask the broker for a fresh access token
when theirs is due or after a 401, and the session refreshes once per expiry, however many
workers ask (``ROTATE`` with grace 0 would revoke everything on a second refresh).
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import signal
import threading
from collections.abc import Iterator
from typing import Any

import cloudpickle
import dask_tasks
import pytest
from dask_tasks import call_api, call_api_async
from memory_scan import scan_process

from okta_nb_auth import AuthSession, ConfigError, PicklingRefused
from okta_nb_auth.devserver import DevServer, Event

distributed = pytest.importorskip("distributed")
cloudpickle.register_pickle_by_value(dask_tasks)  # workers run the tasks without tests/

ADA, GRACE = "ada@example.com", "grace@example.com"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two worker processes with two threads each (a real cluster, as a notebook starts)."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=True,
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as dask_client,
    ):
        yield dask_client


def _token_calls(dev: DevServer) -> list[Event]:
    return [e for e in dev.events if e.endpoint == "token"]


_open: list[AuthSession] = []


@pytest.fixture(autouse=True)
def _close_sessions() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def _session(dev: DevServer, app: str = "native", ttl: int = 300) -> AuthSession:
    """A session signed in to ``app`` under strict rotation (ROTATE, grace 0)."""
    dev.configure_app(app, rotation="ROTATE", grace_period=0, access_token_ttl=ttl)
    session = AuthSession(dev.config(app), dev.login_as(ADA, app))
    _open.append(session)
    return session


def _wave(client: Any, auth: Any, url: str, n: int, **kwargs: Any) -> list[Any]:
    """``n`` tasks calling ``url`` (new task keys each time: Dask would reuse results)."""
    tasks = client.map(call_api, range(n), auth=auth, url=url, pure=False, **kwargs)
    return list(client.gather(tasks))


def test_hundreds_of_tasks_across_expiries_one_refresh_each(
    fresh_dev: DevServer, client: Any
) -> None:
    # Two-second tokens, refreshed one second before expiry (the margin: half the lifetime).
    # Not one second: a JWT's exp is whole seconds, so such a token may be dead at once.
    session = _session(fresh_dev, ttl=2)
    auth = session.for_dask(client)
    fresh_dev.clear_events()
    answers: list[Any] = []
    for _ in range(60):  # waves of tasks until 300 tasks ran and tokens expired 5 times
        answers += _wave(client, auth, f"{fresh_dev.api_url}/whoami", 50, calls=2, pause=0.01)
        if len(_token_calls(fresh_dev)) >= 5 and len(answers) >= 300:
            break
    calls = _token_calls(fresh_dev)
    assert len(answers) >= 300 and {a["status"] for a in answers} == {200}
    assert len(calls) >= 5 and all(c.status == 200 for c in calls), calls
    # One call per expiry: each refresh came once the previous token was within its margin
    # (half of a 2 s lifetime), never earlier, so no two workers refreshed the same token.
    for before, after in itertools.pairwise(calls):
        assert before.expires_at is not None and after.at >= before.expires_at - 1.0 - 0.01
    assert {a["user"] for a in answers} == {ADA}
    assert auth.broker.lending.answers >= len(calls)  # every refresh answered an ask


def test_a_401_on_a_worker_costs_one_refresh_and_one_retry(
    fresh_dev: DevServer, client: Any
) -> None:
    session = _session(fresh_dev)
    auth = session.for_dask(client)
    url = f"{fresh_dev.api_url}/whoami"
    assert {a["status"] for a in _wave(client, auth, url, 20)} == {200}
    fresh_dev.clear_events()
    assert fresh_dev.expire_access_tokens(ADA) >= 1
    answers = _wave(client, auth, url, 40)
    assert {a["status"] for a in answers} == {200}
    assert len(_token_calls(fresh_dev)) == 1
    assert sum(a["retried"] for a in answers) >= 1  # a 401 was answered by one replay


def test_the_notebooks_logout_reaches_the_workers(fresh_dev: DevServer, client: Any) -> None:
    session = _session(fresh_dev)
    auth = session.for_dask(client)
    url = f"{fresh_dev.api_url}/whoami"
    assert {a["status"] for a in _wave(client, auth, url, 8)} == {200}
    session.logout()
    fresh_dev.clear_events()
    answers = _wave(client, auth, url, 8)
    assert {a["error"] for a in answers} == {"LoginRequired"}
    assert all("Log in again in the notebook's session" in a["message"] for a in answers)
    assert not _token_calls(fresh_dev)  # nobody tried a refresh


def test_a_refused_refresh_token_gives_workers_login_required(
    fresh_dev: DevServer, client: Any
) -> None:
    session = _session(fresh_dev)
    auth = session.for_dask(client)
    url = f"{fresh_dev.api_url}/whoami"
    assert {a["status"] for a in _wave(client, auth, url, 8)} == {200}
    fresh_dev.revoke_user(ADA)  # the refresh token and the access tokens are dead
    answers = _wave(client, auth, url, 8)
    assert {a["error"] for a in answers} == {"LoginRequired"}
    assert all("notebook's session" in a["message"] for a in answers)


def test_async_tasks_borrow_too(fresh_dev: DevServer, client: Any) -> None:
    session = _session(fresh_dev)
    auth = session.for_dask(client)
    url = f"{fresh_dev.api_url}/whoami"
    futures = client.map(call_api_async, range(12), auth=auth, url=url)
    assert {a["status"] for a in client.gather(futures)} == {200}


def test_a_broker_made_again_answers_running_workers(fresh_dev: DevServer, client: Any) -> None:
    session = _session(fresh_dev)
    url = f"{fresh_dev.api_url}/whoami"
    first = session.for_dask(client)
    assert {a["status"] for a in _wave(client, first, url, 8)} == {200}
    first.broker.close()
    again = session.for_dask(client)  # the same login: the same broker id
    assert again.broker_id == first.broker_id
    third = session.for_dask(client)  # made again while one answers: the newest takes over
    assert session.okta_auth._watchers == (third.broker._on_change,)
    again = third
    fresh_dev.expire_access_tokens(ADA)  # workers must ask the new broker
    assert {a["status"] for a in _wave(client, again, url, 8)} == {200}


def test_a_worker_killed_during_a_refresh_loses_no_token(fresh_dev: DevServer, client: Any) -> None:
    session = _session(fresh_dev)
    auth = session.for_dask(client)
    url = f"{fresh_dev.api_url}/whoami"
    assert {a["status"] for a in _wave(client, auth, url, 8)} == {200}
    answering = threading.Event()
    answer = auth.broker.lending.answer

    def noted(*args: Any) -> Any:
        answering.set()
        return answer(*args)

    auth.broker.lending.answer = noted
    fresh_dev.inject_fault(latency=2.0)  # the refresh is slow: kill a worker meanwhile
    fresh_dev.expire_access_tokens(ADA)
    fresh_dev.clear_events()
    tasks = client.map(call_api, range(8), auth=auth, url=url, pure=False)
    assert answering.wait(timeout=30)
    os.kill(next(iter(client.run(os.getpid).values())), signal.SIGKILL)
    answers = client.gather(tasks)  # Dask runs the lost tasks again on a new worker
    assert {a["status"] for a in answers} == {200}, answers
    assert len(_token_calls(fresh_dev)) == 1
    session.refresh()  # the rotated refresh token was kept: it still works
    assert [e.status for e in _token_calls(fresh_dev)] == [200, 200]
    client.wait_for_workers(2, timeout=60)  # the nanny's new worker, for the next tests


def test_two_users_of_one_app_lend_their_own_tokens(fresh_dev: DevServer, client: Any) -> None:
    ada = _session(fresh_dev)
    grace = AuthSession(fresh_dev.config("native"), fresh_dev.login_as(GRACE))
    _open.append(grace)
    for_ada, for_grace = ada.for_dask(client), grace.for_dask(client)
    assert for_ada.broker_id != for_grace.broker_id  # tokens without claims: the JWTs' sub
    url = f"{fresh_dev.api_url}/whoami"
    assert {a["user"] for a in _wave(client, for_ada, url, 6)} == {ADA}
    assert {a["user"] for a in _wave(client, for_grace, url, 6)} == {GRACE}


def test_no_broker_gives_a_typed_error_within_the_timeout(
    fresh_dev: DevServer, client: Any
) -> None:
    session = _session(fresh_dev)
    auth = session.for_dask(client, timeout=1.0)
    auth.broker.close()
    answers = _wave(client, auth, f"{fresh_dev.api_url}/whoami", 2)
    assert {a["error"] for a in answers} == {"TransientError"}
    assert all("did not answer within 1 s" in a["message"] for a in answers)


def test_the_notebook_itself_can_use_the_dask_auth(fresh_dev: DevServer, client: Any) -> None:
    session = _session(fresh_dev)
    auth = session.for_dask(client)
    with auth.client() as http:
        assert http.get(f"{fresh_dev.api_url}/whoami").json()["sub"]
    assert session.tokens is not None and auth.lease is not None
    assert session.tokens.access_token[:12] not in repr(auth) + repr(auth.lease)


def test_no_refresh_token_id_token_or_secret_reaches_a_worker(
    fresh_dev: DevServer, client: Any
) -> None:
    seen: list[Any] = []
    session = _session(fresh_dev, "web", ttl=2)
    session.okta_auth.on_tokens = seen.append
    first = session.tokens
    auth = session.for_dask(client)
    for _ in range(20):  # until a few refreshes happened (bounded)
        _wave(client, auth, f"{fresh_dev.api_url}/whoami", 40, calls=2, pause=0.01)
        if len(seen) >= 3:
            break
    assert first is not None and len(seen) >= 3
    secret = fresh_dev.config("web").client_secret
    assert secret is not None
    forbidden = {str(secret)} | {str(t.refresh_token) for t in [first, *seen] if t.refresh_token}
    forbidden |= {str(t.id_token) for t in [first, *seen] if t.id_token}
    access = str(seen[-1].access_token)
    # Scanned from here: the strings searched for are never sent to the workers.
    pids = client.run(os.getpid)  # (a LocalCluster's scheduler and nannies live here)
    assert len(pids) == 2 and os.getpid() not in pids.values()
    found = {where: scan_process(pid, [*forbidden, access]) for where, pid in pids.items()}
    for where, hits in found.items():  # (counted, so a failure prints no token)
        assert len(hits & forbidden) == 0, f"a refresh token, ID token or secret on {where}"
    # The scan can fail: the borrowed access token is in the workers' memory.
    assert any(access in hits for hits in found.values())
    # What workers sent the scheduler (their asks, kept in its event log) holds none either.
    events = repr(client.get_events(auth.broker.topic))
    assert len(client.get_events(auth.broker.topic)) >= 3
    assert sum(t in events for t in [*forbidden, access]) == 0


def test_pickling_a_login_for_a_worker_names_the_broker(fresh_dev: DevServer, client: Any) -> None:
    session = _session(fresh_dev)
    for holder in (session, session.okta_auth, session.tokens):
        with pytest.raises(PicklingRefused, match=r"session\.for_dask\(client\)"):
            pickle.dumps(holder)
    with pytest.raises(TypeError) as info:  # Dask says what it could not send, and why
        client.submit(call_api, 0, auth=session.okta_auth, url=fresh_dev.api_url).result()
    causes = [info.value]
    while causes[-1].__cause__ is not None:
        causes.append(causes[-1].__cause__)
    assert any(isinstance(c, PicklingRefused) and "for_dask" in str(c) for c in causes)
    auth = session.for_dask(client)
    assert len(pickle.dumps(auth)) < 300  # the broker's id and two numbers, no token


def test_without_a_worker_the_dask_auth_says_what_to_do() -> None:
    from okta_nb_auth.dask._worker import borrower

    auth = borrower("0" * 16, 60.0, 1.0)
    with pytest.raises(ConfigError, match="no Dask worker"), auth.client() as http:
        http.get("http://127.0.0.1:9/api")


def test_a_broker_whose_client_closed_is_replaced_cleanly(fresh_dev: DevServer) -> None:
    """A notebook re-run: a new cluster and client, the same login, for_dask again."""
    session = _session(fresh_dev)
    url = f"{fresh_dev.api_url}/whoami"
    for _ in range(2):
        with (
            distributed.LocalCluster(
                n_workers=1,
                processes=False,
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,
            ) as cluster,
            distributed.Client(cluster) as dask_client,
        ):
            auth = session.for_dask(dask_client)
            assert {a["status"] for a in _wave(dask_client, auth, url, 4)} == {200}
