"""DevServer in Python: start, stop, ports, bind address, and its public URL."""

from __future__ import annotations

import socket

import httpx
import jwt
import pytest

from okta_nb_auth.devserver import DevServer, DevServerError


def _busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock, sock.getsockname()[1]


def test_port_zero_picks_a_free_port_and_serves_loopback() -> None:
    with DevServer(port=0) as dev:
        assert dev.running
        assert dev.port > 0
        assert dev.base_url == f"http://127.0.0.1:{dev.port}"
        assert httpx.get(dev.issuer + "/.well-known/openid-configuration").status_code == 200
        assert "running at" in repr(dev)
    assert not dev.running
    assert "stopped" in repr(dev)
    with pytest.raises(httpx.ConnectError):
        httpx.get(dev.base_url + "/", timeout=2)


def test_port_in_use_is_a_one_line_error() -> None:
    sock, port = _busy_port()
    try:
        with pytest.raises(DevServerError) as caught:
            DevServer(port=port).start()
    finally:
        sock.close()
    message = str(caught.value)
    assert f"port {port} on 127.0.0.1 is already in use" in message
    assert "\n" not in message


def test_start_and_stop_without_a_with_block() -> None:
    dev = DevServer(port=0)
    with pytest.raises(DevServerError, match="not started"):
        _ = dev.base_url
    assert dev.start() is dev
    assert dev.start() is dev  # a second start is harmless
    try:
        assert httpx.get(dev.base_url + "/oauth2/default/v1/keys").status_code == 200
    finally:
        dev.stop()
    dev.stop()  # and so is a second stop


def test_stop_wakes_the_server_loop_instead_of_waiting_for_its_tick() -> None:
    dev = DevServer(port=0).start()
    server = dev._server
    assert server is not None
    server.wake()  # before stop: a wake-up alone does not stop it
    assert httpx.get(dev.issuer + "/.well-known/openid-configuration").status_code == 200
    dev.stop()
    assert server._woken is not None and server._woken.is_set()
    with pytest.raises(httpx.ConnectError):
        httpx.get(dev.issuer + "/.well-known/openid-configuration")
    server.wake()  # after the loop has closed: nothing happens


def test_non_loopback_host_needs_allow_remote() -> None:
    with pytest.raises(DevServerError, match="allow_remote=True"):
        DevServer(port=0, host="0.0.0.0")
    with pytest.warns(UserWarning, match="anyone on that network can reach it"):
        DevServer(port=0, host="0.0.0.0", allow_remote=True)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.2", "::1"])
def test_loopback_names_need_no_flag(host: str) -> None:
    DevServer(port=0, host=host)  # constructing is enough: no error, no warning


def test_public_url_sets_the_issuers() -> None:
    with DevServer(port=0, public_url="http://classroom.example:8080/") as dev:
        assert dev.base_url == "http://classroom.example:8080"
        assert dev.issuer == "http://classroom.example:8080/oauth2/default"
        local = f"http://127.0.0.1:{dev.port}"
        doc = httpx.get(local + "/oauth2/default/.well-known/openid-configuration").json()
        assert doc["issuer"] == dev.issuer
        assert doc["token_endpoint"] == "http://classroom.example:8080/oauth2/default/v1/token"
        device = httpx.post(
            local + "/oauth2/default/v1/device/authorize",
            data={"client_id": dev.app("native").client_id, "scope": "openid"},
        ).json()
        assert device["verification_uri"] == "http://classroom.example:8080/activate"


def test_clock_offset_option() -> None:
    with DevServer(port=0, clock_offset=3600) as dev:
        assert dev.clock_offset == 3600
        body = httpx.post(
            dev.base_url + "/oauth2/default/v1/token",
            data={"grant_type": "client_credentials", "scope": "demo.read"},
            auth=(dev.app("service").client_id, dev.app("service").client_secret or ""),
        ).json()
        claims = jwt.decode(body["access_token"], options={"verify_signature": False})
        assert claims["iat"] == pytest.approx(dev.now(), abs=5)
        assert claims["iat"] > dev.now() - 3000  # the shift shows in the tokens
