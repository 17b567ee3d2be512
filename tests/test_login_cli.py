"""``okta-nb-auth login``: the device flow in a terminal, run as a real subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from okta_nb_auth import cli
from okta_nb_auth.devserver import DevServer

BIN = Path(sys.executable).parent / "okta-nb-auth"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{7,}")
ADA, ADA_PASSWORD = "ada@example.com", "analytical-engine"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_") or "NB_AUTH" in k}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def test_login_with_options_and_auto_approve(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", device_interval=0)
    fresh_dev.auto_approve = ADA
    config = fresh_dev.config("native")
    done = subprocess.run(
        [str(BIN), "login", "--issuer", config.issuer, "--client-id", config.client_id],
        capture_output=True,
        text=True,
        timeout=30,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"To sign in, open {fresh_dev.base_url}/activate?user_code=")
    assert re.fullmatch(r"and check that the page shows the code [A-Z]{8}\.", lines[1])
    assert "Signed in as Ada Lovelace <ada@example.com>." in lines
    assert any(line.startswith("Tokens (masked): TokenSet(") for line in lines)
    assert not JWT.search(done.stdout + done.stderr)


def test_login_from_okta_env_approved_on_the_activate_page(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", device_interval=1)
    config = fresh_dev.config("native")
    env = clean_env(OKTA_ISSUER=config.issuer, OKTA_CLIENT_ID=config.client_id)
    proc = subprocess.Popen(
        [str(BIN), "login"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        user_code = first.rsplit("user_code=", 1)[1].strip()
        form = {"user_code": user_code, "username": ADA, "password": ADA_PASSWORD}
        page = httpx.post(f"{fresh_dev.base_url}/activate", data={**form, "action": "allow"})
        assert "Device activated" in page.text
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    assert "Signed in as Ada Lovelace <ada@example.com>." in out


def test_denied_login_exits_1(fresh_dev: DevServer) -> None:
    fresh_dev.configure_app("native", device_interval=1)
    config = fresh_dev.config("native")
    args = [str(BIN), "login", "--issuer", config.issuer, "--client-id", config.client_id]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env()
    )
    assert proc.stdout is not None
    fresh_dev.deny_device(proc.stdout.readline().rsplit("user_code=", 1)[1].strip())
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert "denied on the activation page" in err


def test_missing_settings_exit_2() -> None:
    done = subprocess.run(
        [str(BIN), "login"], capture_output=True, text=True, timeout=30, env=clean_env()
    )
    assert done.returncode == 2
    assert "OKTA_ISSUER" in done.stderr and "Traceback" not in done.stderr


def test_login_works_without_the_devserver_extra(
    fresh_dev: DevServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh_dev.configure_app("native", device_interval=0)
    fresh_dev.auto_approve = ADA
    config = fresh_dev.config("native")
    monkeypatch.setitem(sys.modules, "okta_nb_auth.devserver._cli", None)
    code = cli.main(["login", "--issuer", config.issuer, "--client-id", config.client_id])
    assert code == 0
    assert "Signed in as Ada Lovelace" in capsys.readouterr().out
    assert cli.main(["devserver", "--port", "0"]) == 2
    assert "pip install 'okta-nb-auth[devserver]'" in capsys.readouterr().err
