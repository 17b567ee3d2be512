"""Hostile input gets a clear 4xx, never a 500 or a traceback in the server's log.

Each test runs on a server of its own and reads that server's log (uvicorn's and the dev
server's loggers) after stopping it, so every record of the requests is in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict

import httpx
import pytest
from devserver_helpers import DEFAULT, JSON, ORG, assert_error, client

from okta_nb_auth.devserver import DevServer, SettingsError

BAD_HEADER = "Found Authentication header but was not valid client credentials."
LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "starlette", "okta_nb_auth.devserver")
LIMITS = "a fault applies to at most 10000 calls and adds at most 120 s of latency"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged() -> Iterator[tuple[DevServer, _Records]]:
    """A server whose log is recorded (after start: uvicorn's set-up resets its loggers)."""
    with DevServer(port=0) as dev:
        handler = _Records()
        for name in LOGGERS:
            logging.getLogger(name).addHandler(handler)
        try:
            yield dev, handler
        finally:
            for name in LOGGERS:
                logging.getLogger(name).removeHandler(handler)


def assert_quiet_log(dev: DevServer, log: _Records) -> None:
    dev.stop()  # joins the server's thread: every record is written
    noisy = [r for r in log.records if r.exc_info or r.levelno >= logging.ERROR]
    assert noisy == [], [r.getMessage() for r in noisy]


def _local_port(response: httpx.Response) -> int:
    port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    return port


CLIENT_AUTH = ["token", "introspect", "revoke", "device/authorize"]


@pytest.mark.parametrize("path", [f"{DEFAULT}/{p}" for p in CLIENT_AUTH] + [f"{ORG}/token"])
@pytest.mark.parametrize("value", [b"Basic \xe9t\xe9", b"Basic YWJj\xff==", b"Basic \xc3\xa9:x"])
def test_non_ascii_basic_header_is_invalid_client(
    logged: tuple[DevServer, _Records], path: str, value: bytes
) -> None:
    dev, log = logged
    form = {"grant_type": "client_credentials", "token": "x"}
    with client(dev) as http:
        answer = http.post(path, data=form, headers={"Authorization": value})
        assert_error(answer, 401, "invalid_client", BAD_HEADER)
        again = http.get(f"{DEFAULT}/keys")  # the same keep-alive connection still serves
        assert again.status_code == 200
        assert _local_port(again) == _local_port(answer)
    assert_quiet_log(dev, log)


def test_deeply_nested_json_is_a_400(logged: tuple[DevServer, _Records]) -> None:
    dev, log = logged
    with client(dev) as http:
        for body in (b"[" * 60_000, b'{"a":' * 10_000, b"[" * 100_000):
            answer = http.post("/admin/auto_approve", content=body, headers=JSON)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"] == "invalid_request"
        deep = http.post("/admin/faults", content=b"[" * 60_000, headers=JSON).json()
        assert deep["error_description"] == "the JSON body is nested deeper than 32 levels"
        # Brackets inside a string (after an escaped quote) are text, not nesting.
        text = b'{"user": "a\\"' + b"[" * 100 + b'"}'
        named = http.post("/admin/auto_approve", content=text, headers=JSON)
        assert named.status_code == 400 and "no user" in named.json()["error_description"]
        assert http.post("/admin/login_as", json={"scopes": [["openid"]]}).status_code == 400
        assert http.get("/admin/clock").status_code == 200
    assert dev.auto_approve is None
    assert_quiet_log(dev, log)


NON_FINITE = [
    (b'{"latency": NaN}', LIMITS),
    (b'{"latency": Infinity}', LIMITS),
    (b'{"latency": 1e400}', LIMITS),
    (b'{"status": 503, "latency": NaN}', LIMITS),
    (b'{"status": 503, "latency": -Infinity}', "a fault needs"),
]
NOT_NUMBERS = [
    (b'{"latency": "0.5"}', "latency must be a number of seconds, not str"),
    (b'{"latency": [1]}', "latency must be a number of seconds, not list"),
    (b'{"drop": true, "latency": true}', "latency must be a number of seconds, not bool"),
    (b'{"status": 503, "count": "2"}', "count must be a whole number of calls, not str"),
    (b'{"status": 503, "count": 1.5}', "count must be a whole number of calls, not float"),
    (b'{"status": 503, "count": true}', "count must be a whole number of calls, not bool"),
    (b'{"status": 503, "count": null}', "count must be a whole number"),
    (b'{"status": 503.0}', "status must be one of"),
    (b'{"status": true}', "status must be one of"),
    (b'{"status": 503, "drop": "yes"}', "drop must be true or false"),
    (b'{"status": 503, "html": 1}', "drop must be true or false, and html"),
]


@pytest.mark.parametrize("table", [NON_FINITE, NOT_NUMBERS], ids=["non-finite", "not-numbers"])
def test_fault_values_that_are_not_finite_numbers_are_refused(
    logged: tuple[DevServer, _Records], table: list[tuple[bytes, str]]
) -> None:
    dev, log = logged
    with client(dev) as http:
        for body, text in table:
            answer = http.post("/admin/faults", content=body, headers=JSON)
            assert answer.status_code == 400, (body, answer.text)
            assert text in answer.json()["error_description"], body
            assert dev.authority.store.faults == [], body
    assert_quiet_log(dev, log)


def test_python_api_refuses_non_finite_latency(fresh_dev: DevServer) -> None:
    for latency in (float("nan"), float("inf")):
        with pytest.raises(SettingsError, match="at most 120 s of latency"):
            fresh_dev.inject_fault(503, latency=latency)
    with pytest.raises(SettingsError, match="count must be a whole number"):
        fresh_dev.inject_fault(503, count=2.0)  # type: ignore[arg-type]
    assert [asdict(f) for f in fresh_dev.authority.store.faults] == []
