"""The dev-server benchmark's load generator (``bench/token_load.py``, ``bench/raw_http.py``)
counts what the server really answered: a grant only when its body carries its JWTs, and a
refused request as a failure, so the benchmark can show a loss. No timing is asserted."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from okta_nb_auth.devserver import DevServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import raw_http
import token_load

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HTTPX_DEFAULTS = (b"host", b"accept", b"accept-encoding", b"connection", b"user-agent")


@pytest.fixture(scope="module")
def bench_dev() -> Iterator[DevServer]:
    with DevServer(port=0, config={"server": {"rate_limit_per_minute": 1_000_000}}) as dev:
        yield dev


def test_a_prepared_request_is_what_httpx_sends() -> None:
    url = "http://127.0.0.1:8080/oauth2/default/v1/token"
    raw = raw_http.post_request(url, b"a=b", {"Authorization": "Basic x", **FORM})
    head, _, body = raw.partition(b"\r\n\r\n")
    request = httpx.Client().build_request("POST", url, content=b"a=b", headers=FORM)
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /oauth2/default/v1/token HTTP/1.1" and body == b"a=b"
    names = [line.split(b":")[0].lower() for line in lines[1:]]
    assert names == [*HTTPX_DEFAULTS, b"authorization", b"content-type", b"content-length"]
    assert request.headers["user-agent"].encode() in head


def test_one_connection_carries_many_grants(bench_dev: DevServer) -> None:
    grants = token_load.Grants(bench_dev.base_url, 1)
    connection = raw_http.Connection(grants.token_url)
    try:
        answers = [connection.exchange(grants.request("refresh_token", 0)) for _ in range(3)]
    finally:
        connection.close()
    assert [status for status, _ in answers] == [200, 200, 200]
    assert all(b'"id_token"' in body and b'"access_token"' in body for _, body in answers)


@pytest.mark.parametrize("grant", ["client_credentials", "refresh_token"])
def test_a_cell_counts_grants(bench_dev: DevServer, grant: str) -> None:
    grants = token_load.Grants(bench_dev.base_url, 2)
    cell = token_load.run_cell(grants, time.process_time, grant, 2, 0.2)
    assert cell.ok > 0 and cell.failed == 0
    assert token_load.sample_claims(grants)["scp"] == ["demo.read"]


def test_refused_grants_are_failures(bench_dev: DevServer) -> None:
    grants = token_load.Grants(bench_dev.base_url, 1)
    grants.auth["service"] = grants.auth["web"]  # the web app may not use client credentials
    cell = token_load.run_cell(grants, time.process_time, "client_credentials", 1, 0.2)
    assert cell.ok == 0 and cell.failed > 0


def test_a_200_without_its_id_token_is_a_failure(bench_dev: DevServer) -> None:
    """A refresh is counted as two signatures only when both JWTs came back."""
    grants = token_load.Grants(bench_dev.base_url, 1)
    bench_dev.configure_app("web", rotation="STATIC")
    expected = token_load.TOKENS["refresh_token"] + (b'"no_such_token"',)
    count = token_load.Cell()
    connection = raw_http.Connection(grants.token_url)
    try:
        request = grants.request("refresh_token", 0)
        token_load._post_until(connection, request, expected, count, float("inf"), limit=3)
    finally:
        connection.close()
    assert (count.ok, count.failed) == (0, 3)


def test_a_server_that_hangs_up_is_a_failure(bench_dev: DevServer) -> None:
    grants = token_load.Grants(bench_dev.base_url, 1)
    bench_dev.inject_fault(drop=True)
    count = token_load.Cell()
    connection = raw_http.Connection(grants.token_url)
    try:
        request = grants.request("client_credentials", 0)
        token_load._post_until(connection, request, (), count, float("inf"), limit=3)
    finally:
        connection.close()
        bench_dev.clear_faults()
    assert (count.ok, count.failed) == (0, 1)  # the connection is unusable: the client stops
