"""The dev server's command line, run as a real subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent / "okta-nb-auth"


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture
def stop() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        proc.terminate()
        proc.communicate(timeout=10)  # also closes the pipes


@pytest.mark.parametrize(
    "command",
    [[str(BIN), "devserver"], [sys.executable, "-m", "okta_nb_auth.devserver"]],
    ids=["console-script", "python-m"],
)
def test_ready_line_comes_first_and_alone(
    command: list[str], stop: list[subprocess.Popen[str]]
) -> None:
    # How fast it comes is bench/'s business (a loaded machine must not fail a test).
    proc = _start(*command, "--port", "0")
    stop.append(proc)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("READY http://127.0.0.1:"), line
    issuer = line.split()[1]
    assert issuer.endswith("/oauth2/default")
    doc = httpx.get(issuer + "/.well-known/openid-configuration").json()
    assert doc["issuer"] == issuer
    # Exactly one line on stdout: nothing else arrives while it runs, and none at shutdown.
    proc.terminate()
    out, err = proc.communicate(timeout=10)
    assert out == ""
    assert proc.returncode == 0
    assert "ada@example.com" in err and "analytical-engine" in err


def test_port_in_use_is_one_line_and_nonzero(stop: list[subprocess.Popen[str]]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [str(BIN), "devserver", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=20,
        )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in lines[0]
    assert "Traceback" not in result.stderr


def test_remote_bind_needs_allow_remote() -> None:
    result = subprocess.run(
        [str(BIN), "devserver", "--port", "0", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr or "allow_remote" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_file_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "dev.toml"
    config.write_text("[apps.native]\nrotation = 'SOMETIMES'\n")
    result = subprocess.run(
        [str(BIN), "devserver", "--port", "0", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2
    assert "rotation must be 'STATIC' or 'ROTATE'" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_file_changes_an_app(tmp_path: Path, stop: list[subprocess.Popen[str]]) -> None:
    config = tmp_path / "dev.toml"
    config.write_text("[apps.native]\naccess_token_ttl = 42\n")
    proc = _start(str(BIN), "devserver", "--port", "0", "--config", str(config))
    stop.append(proc)
    assert proc.stdout is not None
    issuer = proc.stdout.readline().split()[1]
    base = issuer.removesuffix("/oauth2/default")
    apps = httpx.get(base + "/admin/apps").json()
    assert apps["native"]["access_token_ttl"] == 42
    assert "client_secret" not in apps["web"]


@pytest.mark.parametrize("command", [[], ["devserver"], ["login"], ["status"], ["logout"]])
def test_help_is_plain_text(command: list[str]) -> None:
    done = subprocess.run(
        [str(BIN), *command, "--help"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "usage: okta-nb-auth" in done.stdout
    assert "``" not in done.stdout and ":func:" not in done.stdout  # no reST markup
