"""``okta-nb-auth devserver --tls`` and ``okta-nb-auth login --ca-bundle``, as subprocesses."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from okta_nb_auth import OktaConfig
from okta_nb_auth.devserver import DevServer
from okta_nb_auth.logins import device_login

BIN = Path(sys.executable).parent / "okta-nb-auth"
CA_FILE = "okta-nb-auth-dev-ca.pem"


def clean_env(**extra: str) -> dict[str, str]:
    """No OKTA_* settings or CA of the developer's (the private token store stays)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OKTA_", "SSL_CERT")) or k.startswith("OKTA_NB_AUTH")
    }
    assert "OKTA_NB_AUTH_CACHE" in env  # conftest's: the user's own store is never touched
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


@pytest.fixture
def tls_server() -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """A ``devserver --tls`` process, its issuer (from stdout) and CA bundle (from stderr)."""
    proc = subprocess.Popen(
        [str(BIN), "devserver", "--port", "0", "--tls", "--auto-approve", "ada@example.com"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    ready = proc.stdout.readline()
    lines = [proc.stderr.readline()]
    while lines[-1] and not lines[-1].strip().endswith(CA_FILE) and len(lines) < 40:
        lines.append(proc.stderr.readline())
    try:
        assert ready.startswith("READY https://127.0.0.1:"), ready
        assert lines[-1].strip().endswith(CA_FILE), "".join(lines)
        yield proc, ready.split()[1], lines[-1].strip()
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_tls_devserver_prints_ready_on_stdout_and_the_ca_on_stderr(
    tls_server: tuple[subprocess.Popen[str], str, str],
) -> None:
    proc, issuer, ca_bundle = tls_server
    assert issuer.endswith("/oauth2/default")
    url = issuer + "/.well-known/openid-configuration"
    trusted = ssl.create_default_context(cafile=ca_bundle)
    assert httpx.get(url, verify=trusted).json()["issuer"] == issuer
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)
    app = httpx.get(issuer.split("/oauth2")[0] + "/admin/apps/native", verify=trusted).json()
    config = OktaConfig(issuer, app["client_id"], ca_bundle=ca_bundle)
    result = device_login(config, sleep=lambda s: None)
    assert result.claims["email"] == "ada@example.com"
    result.session.close()
    proc.terminate()
    out, err = proc.communicate(timeout=10)
    assert out == ""  # READY was the one line on stdout
    assert proc.returncode == 0, err
    assert not Path(ca_bundle).exists()  # removed at exit


def test_tls_devserver_says_how_to_use_the_ca() -> None:
    proc = subprocess.Popen(
        [str(BIN), "devserver", "--port", "0", "--tls"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    for hint in ("SSL_CERT_FILE=PATH", "REQUESTS_CA_BUNDLE=PATH", "OKTA_CA_BUNDLE=PATH"):
        assert hint in err
    assert "verify=ssl.create_default_context(cafile=PATH)" in err


def test_an_unwritable_ca_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = subprocess.run(
        [str(BIN), "devserver", "--port", "0", "--tls", "--ca-dir", str(blocker / "sub")],
        capture_output=True,
        text=True,
        timeout=30,
        env=clean_env(),
    )
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("okta-nb-auth devserver: error: cannot write the dev server's CA")
    assert "Traceback" not in done.stderr


def test_ca_dir_needs_tls() -> None:
    done = subprocess.run(
        [str(BIN), "devserver", "--port", "0", "--ca-dir", "/tmp/x"],
        capture_output=True,
        text=True,
        timeout=30,
        env=clean_env(),
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "okta-nb-auth devserver: error: ca_dir (--ca-dir) only applies with tls=True (--tls)"
    )


@pytest.fixture
def approving_tls_dev() -> Iterator[DevServer]:
    with DevServer(port=0, tls=True) as dev:
        dev.configure_app("native", device_interval=0)
        dev.auto_approve = "ada@example.com"
        yield dev


def _login(dev: DevServer, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    config = dev.config("native")
    return subprocess.run(
        [str(BIN), "login", "--issuer", config.issuer, "--client-id", config.client_id, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(**env),
    )


def test_cli_login_with_ca_bundle(approving_tls_dev: DevServer) -> None:
    assert approving_tls_dev.ca_bundle is not None
    done = _login(approving_tls_dev, "--ca-bundle", approving_tls_dev.ca_bundle)
    assert done.returncode == 0, done.stderr
    assert "Signed in as Ada Lovelace <ada@example.com>." in done.stdout


def test_cli_login_with_okta_ca_bundle_then_status(approving_tls_dev: DevServer) -> None:
    assert approving_tls_dev.ca_bundle is not None
    env = {"OKTA_CA_BUNDLE": approving_tls_dev.ca_bundle}
    assert _login(approving_tls_dev, **env).returncode == 0
    config = approving_tls_dev.config("native")
    status = subprocess.run(
        [str(BIN), "status", "--issuer", config.issuer, "--client-id", config.client_id],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(**env),
    )
    assert status.returncode == 0, status.stderr
    assert "Signed in as Ada Lovelace <ada@example.com>." in status.stdout


def test_cli_login_without_the_ca_is_one_line_with_the_fix(approving_tls_dev: DevServer) -> None:
    done = _login(approving_tls_dev)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("okta-nb-auth login: error: The TLS certificate of https://127.0.0.1:")
    assert "pass the dev server's CA bundle" in line
