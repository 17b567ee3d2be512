"""Token grants run on worker threads while other requests are in progress (``_offload``).

Unit tests drive :class:`Offload` on an event loop; the server tests make another request be
in progress for sure (its headers sent, its body held back: uvicorn has its task, which waits
for the body), so no test depends on timing.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import jwt
import pytest
from devserver_helpers import ADA, DEFAULT, RT_INVALID, basic, jwks, verify

from okta_nb_auth.devserver import DevServer
from okta_nb_auth.devserver._offload import Offload

POOL = "okta-devserver-sign"


#: Sign-pool threads that existed before the test's own server started (another test's
#: server left running would have some): not this server's.
_OTHERS: set[threading.Thread] = set()


def pool_threads() -> list[threading.Thread]:
    """The sign-pool threads of the test's own dev server."""
    return [t for t in threading.enumerate() if t.name.startswith(POOL) and t not in _OTHERS]


# -- Offload on its own ---------------------------------------------------------------------


def _where() -> str:
    return threading.current_thread().name


@pytest.mark.anyio
async def test_alone_a_call_runs_inline() -> None:
    offload = Offload()
    offload.watch({"this request"})
    assert await offload.run(_where) == threading.current_thread().name
    assert offload._pool is None  # no pool was started


@pytest.mark.anyio
async def test_with_others_waiting_a_call_runs_on_a_worker() -> None:
    offload = Offload(workers=2)
    offload.watch({"this request", "another"})
    try:
        assert (await offload.run(_where)).startswith(POOL)
        assert await offload.run(lambda a, b: a + b, 2, 3) == 5
    finally:
        offload.close()


@pytest.mark.anyio
async def test_a_worker_s_exception_reaches_the_caller() -> None:
    offload = Offload(workers=2)
    offload.watch({"this request", "another"})

    def fail() -> None:
        raise ValueError("from the worker")

    try:
        with pytest.raises(ValueError, match="from the worker"):
            await offload.run(fail)
    finally:
        offload.close()


@pytest.mark.anyio
async def test_unwatched_and_closed_run_inline_and_close_joins_the_workers() -> None:
    offload = Offload(workers=2)
    assert await offload.run(_where) == threading.current_thread().name  # nothing watched
    offload.watch({"this request", "another"})
    await offload.run(_where)
    pool = offload._pool
    assert isinstance(pool, ThreadPoolExecutor)
    offload.close()
    assert offload._pool is None and not any(t.is_alive() for t in pool._threads)
    assert await offload.run(_where) == threading.current_thread().name


# -- in a running dev server ----------------------------------------------------------------


CC_FORM = b"grant_type=client_credentials&scope=demo.read"


def _service(dev: DevServer) -> dict[str, str]:
    app = dev.app("service")
    assert app.client_secret is not None
    return {"Authorization": basic(app.client_id, app.client_secret)}


@contextmanager
def request_in_progress(dev: DevServer) -> Iterator[socket.socket]:
    """A client-credentials request in progress: its body held back, and the server waiting for
    it (it asked for it with ``100 Continue``). Sending :data:`CC_FORM` completes it."""
    head = (
        f"POST {DEFAULT}/token HTTP/1.1\r\nHost: 127.0.0.1:{dev.port}\r\n"
        f"Authorization: {_service(dev)['Authorization']}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(CC_FORM)}\r\nExpect: 100-continue\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", dev.port), timeout=10) as sock:
        sock.sendall(head.encode())
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        yield sock


def _client_credentials(dev: DevServer, http: httpx.Client) -> httpx.Response:
    form = {"grant_type": "client_credentials", "scope": "demo.read"}
    return http.post(f"{DEFAULT}/token", data=form, headers=_service(dev))


@pytest.fixture
def quiet_dev() -> Iterator[DevServer]:
    """A dev server of its own (its pool threads are this test's to see)."""
    _OTHERS.clear()
    _OTHERS.update(t for t in threading.enumerate() if t.name.startswith(POOL))
    with DevServer(port=0) as server:
        yield server
    assert not pool_threads(), "stop() left sign pool threads running"


def test_one_request_at_a_time_signs_inline(quiet_dev: DevServer) -> None:
    with httpx.Client(base_url=quiet_dev.base_url) as http:
        for _ in range(3):
            assert _client_credentials(quiet_dev, http).status_code == 200
    assert not pool_threads()


def test_a_grant_made_while_another_request_waits_is_signed_by_the_pool(
    quiet_dev: DevServer,
) -> None:
    with httpx.Client(base_url=quiet_dev.base_url) as http, request_in_progress(quiet_dev) as held:
        response = _client_credentials(quiet_dev, http)
        assert pool_threads(), "the grant ran inline although another request was in progress"
        held.sendall(CC_FORM)  # the held request completes: a grant too
        assert held.recv(65536).startswith(b"HTTP/1.1 200 ")
        keys = jwks(http)
    assert response.status_code == 200
    claims = verify(
        response.json()["access_token"], keys, audience="api://default", issuer=quiet_dev.issuer
    )
    assert claims["scp"] == ["demo.read"] and claims["sub"] == quiet_dev.app("service").client_id
    assert quiet_dev.events[-2].grant_type == "client_credentials"


def test_pool_refreshes_keep_the_rotation_rules(quiet_dev: DevServer) -> None:
    """A rotated-out refresh token presented again (grace 0) is reuse, on the pool as inline."""
    quiet_dev.configure_app("web", rotation="ROTATE", grace_period=0)
    tokens = quiet_dev.login_as(ADA, "web")
    app = quiet_dev.app("web")
    assert app.client_secret is not None
    headers = {"Authorization": basic(app.client_id, app.client_secret)}
    form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token or ""}
    with httpx.Client(base_url=quiet_dev.base_url) as http, request_in_progress(quiet_dev):
        first = http.post(f"{DEFAULT}/token", data=form, headers=headers)
        again = http.post(f"{DEFAULT}/token", data=form, headers=headers)
        assert pool_threads()
    assert first.status_code == 200 and first.json()["refresh_token"] != tokens.refresh_token
    assert jwt.get_unverified_header(first.json()["id_token"])["alg"] == "RS256"
    assert again.status_code == 400 and again.json()["error_description"] == RT_INVALID
    assert quiet_dev.events[-1].detail == "reuse_detected_family_revoked"
