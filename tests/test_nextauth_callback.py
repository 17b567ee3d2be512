"""Notebook 03's NextAuth ``jwt``/``session`` callbacks (JavaScript), run by Node on the dev server.

Readers paste the notebook's ```js block into ``[...nextauth].js``; these tests extract that exact
text, write it to a temporary ES module and run it with ``tests/nextauth_driver.mjs``, which
calls the callbacks the way NextAuth v4 does and prints the tokens they return plus every request
they made. Each scenario is checked from that output and from the dev server's event log: the
fixes of okta-behaviour.md §6 (status not ``success``, ``expires_at``, discovery, leeway,
``URLSearchParams``, client_secret_basic, kept tokens, single-flight, ``RefreshAccessTokenError``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest

from okta_nb_auth.devserver import DevServer

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03_jwt_callback.ipynb"
DRIVER = Path(__file__).resolve().parent / "nextauth_driver.mjs"
NODE = shutil.which("node")
ADA = "ada@example.com"
ERROR = "RefreshAccessTokenError"
TTL = 300  # the web app's access-token lifetime in these tests
# What NextAuth v4's jwt callback gets as `token` at first sign-in (its default claims).
DEFAULT_CLAIMS = {"name": "Ada Lovelace", "email": ADA, "picture": None, "sub": "00u-ada"}

Job = dict[str, Any]


def notebook_js() -> str:
    """The ```js block of notebook 03, exactly as readers copy it."""
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    blocks = [
        block
        for cell in notebook["cells"]
        if cell["cell_type"] == "markdown"
        for block in re.findall(r"^```js\n(.*?)^```", "".join(cell["source"]), re.M | re.S)
    ]
    if len(blocks) != 1:
        pytest.fail(
            f"{NOTEBOOK.name} must have exactly one markdown cell with a ```js block (the "
            f"corrected NextAuth callback, after the corrected Python one); found {len(blocks)}"
        )
    block: str = blocks[0]
    return block


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook's callbacks as an ES module that exports ``callbacks``."""
    path = tmp_path_factory.mktemp("nextauth") / "callbacks.mjs"
    path.write_text(notebook_js() + "\nexport { callbacks };\n", encoding="utf-8")
    return path


@pytest.fixture
def dev(fresh_dev: DevServer) -> DevServer:
    fresh_dev.configure_app("web", access_token_ttl=TTL)
    return fresh_dev


def run(dev: DevServer, module: Path, rounds: list[Job], *, issuer: str | None = None) -> Job:
    """Run ``rounds`` of callback calls in one Node process; its JSON output."""
    config = dev.config("web")
    env = {
        **os.environ,
        "OKTA_ISSUER": issuer or config.issuer,
        "OKTA_CLIENT_ID": config.client_id,
        "OKTA_CLIENT_SECRET": config.client_secret or "",
    }
    job = {"module": str(module), "offset": dev.clock_offset, "rounds": rounds}
    assert NODE is not None, "these tests run the callback with Node 18+: put `node` on PATH"
    done = subprocess.run(
        [NODE, str(DRIVER)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"node failed ({done.returncode}):\n{done.stderr}"
    output: Job = json.loads(done.stdout)
    for number, result in enumerate(output["rounds"]):
        assert "threw" not in result, f"round {number}: the callback threw:\n{result['threw']}"
    assert len(output["rounds"]) == len(rounds)
    return output


def account(dev: DevServer, scopes: str | None = None, *, org: bool = False) -> Job:
    """The ``account`` NextAuth v4 passes at first sign-in (``expires_at`` in server time)."""
    tokens = dev.login_as(ADA, app="web", scopes=scopes, org=org)
    fields = {
        "provider": "okta",
        "type": "oauth",
        "providerAccountId": "00u-ada",
        "token_type": "Bearer",
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "id_token": tokens.id_token,
        "expires_at": int(tokens.expires_at + dev.clock_offset),
        "scope": tokens.scope,
    }
    return {name: value for name, value in fields.items() if value is not None}


def signed_in(dev: DevServer, module: Path, **options: Any) -> Job:
    """The token the jwt callback makes at first sign-in."""
    output = run(dev, module, [{"token": DEFAULT_CLAIMS, "account": account(dev, **options)}])
    token: Job = output["rounds"][0]["results"][0]
    return token


def refreshes(dev: DevServer) -> list[tuple[int, str | None]]:
    """(status, error) of every refresh_token grant the dev server saw."""
    return [(e.status, e.error) for e in dev.events if e.grant_type == "refresh_token"]


def token_calls(output: Job) -> list[Job]:
    return [f for f in output["fetches"] if f["method"] == "POST"]


def assert_refreshed(old: Job, new: Job, dev: DevServer) -> None:
    assert new["accessToken"] != old["accessToken"]
    assert abs(new["expiresAt"] - (dev.now() + TTL)) < 10  # now + expires_in, server time
    assert "error" not in new
    assert {k: new[k] for k in DEFAULT_CLAIMS} == DEFAULT_CLAIMS  # NextAuth's claims kept


# -- sign-in and a still-valid token ------------------------------------------------------------


def test_sign_in_stores_the_account_tokens(dev: DevServer, module: Path) -> None:
    signin = account(dev)
    output = run(dev, module, [{"token": DEFAULT_CLAIMS, "account": signin}])
    result = output["rounds"][0]
    assert result["results"] == [
        {
            **DEFAULT_CLAIMS,
            "accessToken": signin["access_token"],
            "expiresAt": signin["expires_at"],  # the access token's, not the ID token's exp
            "idToken": signin["id_token"],
            "refreshToken": signin["refresh_token"],
        }
    ]
    assert result["session"]["accessToken"] == signin["access_token"]
    assert "error" not in result["session"]
    assert output["fetches"] == []  # not even discovery
    assert dev.events == []


def test_valid_token_is_unchanged_until_a_minute_before_expiry(
    dev: DevServer, module: Path
) -> None:
    token = signed_in(dev, module)
    dev.advance_clock(TTL - 100)  # 100 s left: no refresh
    output = run(dev, module, [{"token": token, "calls": 3}])
    assert output["rounds"][0]["results"] == [token] * 3
    assert output["fetches"] == []
    assert refreshes(dev) == []

    dev.advance_clock(50)  # 50 s left: inside the 60 s leeway, so refresh early
    output = run(dev, module, [{"token": token}])
    assert_refreshed(token, output["rounds"][0]["results"][0], dev)
    assert refreshes(dev) == [(200, None)]


# -- refresh: single-flight under rotation ------------------------------------------------------


def test_concurrent_calls_refresh_once_and_keep_the_rotated_token(
    dev: DevServer, module: Path
) -> None:
    dev.configure_app("web", rotation="ROTATE", grace_period=0)
    token = signed_in(dev, module)
    dev.advance_clock(TTL + 1)

    output = run(dev, module, [{"token": token, "calls": 10}])
    results = output["rounds"][0]["results"]
    assert len(results) == 10 and all(r == results[0] for r in results)
    first = results[0]
    assert_refreshed(token, first, dev)
    assert first["refreshToken"] != token["refreshToken"]  # rotated, and kept
    assert refreshes(dev) == [(200, None)]  # one refresh for ten calls
    assert [e.detail for e in dev.events if e.grant_type == "refresh_token"] == ["rotated"]

    # What went over the wire: discovery once, then one form-encoded POST to its token_endpoint
    # with client_secret_basic (URL-encoded id:secret) and no credentials in the body.
    discovery, call = output["fetches"]
    assert discovery["method"] == "GET"
    assert discovery["url"] == dev.issuer + "/.well-known/openid-configuration"
    assert call["url"] == discovery["answer"]["token_endpoint"]
    assert parse_qs(call["body"]) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [token["refreshToken"]],
    }
    scheme, _, value = call["authorization"].partition(" ")
    client_id, _, secret = base64.b64decode(value).decode().partition(":")
    config = dev.config("web")
    assert (scheme, unquote(client_id), unquote(secret)) == (
        "Basic",
        config.client_id,
        config.client_secret,
    )

    # The second expiry refreshes with the rotated token (the first one is dead after grace 0).
    dev.advance_clock(TTL + 1)
    output = run(dev, module, [{"token": first, "calls": 10}])
    second = output["rounds"][0]["results"]
    assert all(r == second[0] for r in second)
    assert_refreshed(first, second[0], dev)
    assert second[0]["refreshToken"] not in (first["refreshToken"], token["refreshToken"])
    assert refreshes(dev) == [(200, None), (200, None)]
    assert [c["answer"]["refresh_token"] for c in token_calls(output)] == [
        second[0]["refreshToken"]
    ]


def test_discovery_is_looked_up_once_per_process(dev: DevServer, module: Path) -> None:
    first, second = signed_in(dev, module), signed_in(dev, module)
    dev.advance_clock(TTL + 1)
    output = run(dev, module, [{"token": first}, {"token": second}])
    assert [f["method"] for f in output["fetches"]] == ["GET", "POST", "POST"]
    assert refreshes(dev) == [(200, None), (200, None)]


def test_org_issuer_uses_the_token_endpoint_from_discovery(dev: DevServer, module: Path) -> None:
    # The article's hand-built `${issuer}/v1/token` points nowhere for the org server.
    signin = account(dev, org=True)
    output = run(dev, module, [{"token": DEFAULT_CLAIMS, "account": signin}], issuer=dev.org_issuer)
    token = output["rounds"][0]["results"][0]
    dev.advance_clock(TTL + 1)
    output = run(dev, module, [{"token": token}], issuer=dev.org_issuer)
    assert_refreshed(token, output["rounds"][0]["results"][0], dev)
    assert [c["url"] for c in token_calls(output)] == [dev.org_issuer + "/oauth2/v1/token"]
    assert refreshes(dev) == [(200, None)]


def test_secret_with_form_special_characters_is_url_encoded(dev: DevServer, module: Path) -> None:
    dev.configure_app("web", client_secret="s3cret with+plus&and=eq%pct#hash:colon")
    token = signed_in(dev, module)
    dev.advance_clock(TTL + 1)
    output = run(dev, module, [{"token": token}])
    assert_refreshed(token, output["rounds"][0]["results"][0], dev)
    assert refreshes(dev) == [(200, None)]


# -- failures: surfaced in the token, never thrown ----------------------------------------------


def test_invalid_grant_is_surfaced_as_refresh_access_token_error(
    dev: DevServer, module: Path
) -> None:
    token = signed_in(dev, module)
    dev.revoke_user(ADA)
    dev.advance_clock(TTL + 1)
    output = run(dev, module, [{"token": token, "calls": 3}])
    result = output["rounds"][0]
    assert result["results"] == [{**token, "error": ERROR}] * 3  # old tokens kept, no throw
    assert result["session"]["error"] == ERROR
    assert refreshes(dev) == [(400, "invalid_grant")]  # one call for three
    (call,) = token_calls(output)
    assert call["answer"]["error"] == "invalid_grant"


def test_error_is_cleared_after_a_later_successful_refresh(dev: DevServer, module: Path) -> None:
    token = signed_in(dev, module)
    dev.advance_clock(TTL + 1)
    dev.inject_fault(503, html=True)  # an HTML error page: response.json() fails too
    output = run(dev, module, [{"token": token}, {}])  # the 2nd round gets the 1st's token
    failed, recovered = (r["results"][0] for r in output["rounds"])
    assert failed == {**token, "error": ERROR}
    assert output["rounds"][0]["session"]["error"] == ERROR
    assert_refreshed(token, recovered, dev)
    assert "error" not in output["rounds"][1]["session"]
    assert refreshes(dev) == [(503, "fault_503"), (200, None)]


# -- answers that omit tokens: the old ones are kept --------------------------------------------


def test_answer_without_refresh_token_keeps_the_old_one(dev: DevServer, module: Path) -> None:
    dev.configure_app("web", rotation="STATIC", static_returns_refresh_token=False)
    token = signed_in(dev, module)
    dev.advance_clock(TTL + 1)
    output = run(dev, module, [{"token": token}])
    (call,) = token_calls(output)
    assert "refresh_token" not in call["answer"] and "id_token" in call["answer"]
    refreshed = output["rounds"][0]["results"][0]
    assert_refreshed(token, refreshed, dev)
    assert refreshed["refreshToken"] == token["refreshToken"]
    assert refreshed["idToken"] == call["answer"]["id_token"] != token["idToken"]

    dev.advance_clock(TTL + 1)  # and the kept refresh token still works
    output = run(dev, module, [{"token": refreshed}])
    assert_refreshed(refreshed, output["rounds"][0]["results"][0], dev)
    assert refreshes(dev) == [(200, None), (200, None)]


def test_answer_without_id_token_keeps_the_old_one(dev: DevServer, module: Path) -> None:
    # Without `openid` Okta sends no ID token on refresh (§4.5). The sign-in's ID token here comes
    # from a second, openid login: the one the callback must not lose.
    signin = account(dev, scopes="profile email offline_access")
    assert "id_token" not in signin
    signin["id_token"] = account(dev)["id_token"]
    output = run(dev, module, [{"token": DEFAULT_CLAIMS, "account": signin}])
    token = output["rounds"][0]["results"][0]
    dev.advance_clock(TTL + 1)
    output = run(dev, module, [{"token": token}])
    (call,) = token_calls(output)
    assert "id_token" not in call["answer"] and "refresh_token" in call["answer"]
    refreshed = output["rounds"][0]["results"][0]
    assert_refreshed(token, refreshed, dev)
    assert refreshed["idToken"] == signin["id_token"]
    assert refreshes(dev) == [(200, None)]
