"""End to end on a real JupyterHub (issue 14): a kernel borrows the Hub's Okta login.

One Hub for the module (``hub_harness``), configured by the package's own
``okta_nb_auth/hub/jupyterhub_config.py`` (what an admin uses) plus the test Hub's ports,
spawner and a 1 s ``auth_refresh_age``. Chromium signs in to it through the dev server as
Ada, which spawns her server; a kernel of that server calls the demo API with
``AuthSession.from_hub()`` across several access-token expiries (the dev server's clock moves
on), with no further sign-in. The tests run in order: the last one revokes Ada's tokens.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_harness import USER, Hub, signed_in_hub
from hub_kernel import HubKernel
from memory_scan import scan_process

from okta_nb_auth.devserver import DevServer, Event

pytestmark = pytest.mark.slow

TTL = 120  # the web app's access-token lifetime, seconds of the dev server's clock
EXPIRIES = 3


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with DevServer(port=0) as dev:
        dev.configure_app("web", access_token_ttl=TTL, rotation="ROTATE", grace_period=0)
        with signed_in_hub(tmp_path_factory.mktemp("hub"), dev) as running:
            yield running


@pytest.fixture(scope="module")
def kernel(hub: Hub) -> Iterator[HubKernel]:
    with hub.kernel() as running:
        running.run("import json, os\nfrom okta_nb_auth import AuthSession, OktaAuthError")
        running.run("session = AuthSession.from_hub()")
        yield running


def call(kernel: HubKernel, url: str) -> Any:
    """The kernel's ``session.get(url)``: its status, or the typed error it raised."""
    code = f"""
try:
    answer = session.get({url!r})
    print(json.dumps({{"status": answer.status_code, "replayed": len(answer.history)}}))
except OktaAuthError as exc:
    print(json.dumps({{"error": type(exc).__name__, "message": str(exc)}}))
"""
    return kernel.run_json(code)


def token_calls(dev: DevServer) -> list[Event]:
    return [e for e in dev.events if e.endpoint == "token"]


def test_a_hub_login_keeps_the_okta_tokens_in_the_hub(hub: Hub) -> None:
    state = hub.user_model()["auth_state"]  # read with the harness's admin token
    assert state["access_token"] and state["refresh_token"] and state["id_token"]
    assert "offline_access" in state["scope"]
    codes = [(e.grant_type, e.app, e.auth_method) for e in token_calls(hub.dev)]
    assert codes == [("authorization_code", "web", "client_secret_basic")]


def test_a_kernel_calls_the_api_across_expiries_with_no_second_login(
    hub: Hub, kernel: HubKernel
) -> None:
    api = f"{hub.dev.api_url}/whoami"
    answers = [call(kernel, api)]
    for _ in range(EXPIRIES):
        hub.dev.advance_clock(TTL + 1)  # the Hub's token is dead: the API answers 401 once
        answers.append(call(kernel, api))
    assert [a.get("status") for a in answers] == [200] * (EXPIRIES + 1), answers
    assert [a["replayed"] for a in answers] == [0] + [1] * EXPIRIES
    # Every refresh is the Hub's (the web app's client authentication), one per expiry.
    grants = [(e.grant_type, e.app, e.status) for e in token_calls(hub.dev)][1:]
    assert grants == [("refresh_token", "web", 200)] * EXPIRIES


def test_the_kernel_holds_no_refresh_token_id_token_or_secret(hub: Hub, kernel: HubKernel) -> None:
    state = hub.user_model()["auth_state"]
    secret = hub.dev.app("web").client_secret
    forbidden = {state["refresh_token"], state["id_token"], str(secret)}
    access = state["access_token"]
    assert call(kernel, f"{hub.dev.api_url}/whoami")["status"] == 200
    pid = int(kernel.run("print(os.getpid())"))
    found = scan_process(pid, [*forbidden, access])  # from here: nothing sent to the kernel
    assert len(found & forbidden) == 0  # (counted: a failure prints no token)
    assert access in found  # the scan can fail: the borrowed token is there
    environ = kernel.run_json("print(json.dumps(dict(os.environ)))")
    assert sum(t in json.dumps(environ) for t in [*forbidden, access]) == 0
    home = Path(hub.run_dir) / "home" / USER
    texts = [p.read_bytes() for p in home.rglob("*") if p.is_file()]
    assert sum(t.encode() in b for t in [*forbidden, access] for b in texts) == 0
    # The server's own token cannot read auth_state: only the token service can.
    token = environ["JUPYTERHUB_API_TOKEN"]
    model = httpx.get(
        f"{hub.api_url}/users/{USER}", headers={"Authorization": f"token {token}"}, timeout=30
    ).json()
    assert "auth_state" not in model


def test_a_token_without_the_services_scopes_gets_a_typed_error(hub: Hub) -> None:
    with hub.admin() as api:
        made = api.post(f"users/{USER}/tokens", json={"scopes": ["users:activity!user"]})
        assert made.status_code == 201, made.text
        token = made.json()["token"]
        try:
            environ = {
                "JUPYTERHUB_API_URL": hub.api_url,
                "JUPYTERHUB_API_TOKEN": token,
                "JUPYTERHUB_USER": USER,
            }
            from okta_nb_auth import AuthSession, ConfigError

            with (
                AuthSession.from_hub(environ=environ) as session,
                pytest.raises(ConfigError, match=r"read:services!service=okta-tokens"),
            ):
                session.get(f"{hub.dev.api_url}/whoami")
        finally:
            api.delete(f"users/{USER}/tokens/{made.json()['id']}")


def test_a_refresh_the_hub_cannot_make_ends_in_sign_in_to_the_hub_again(
    hub: Hub, kernel: HubKernel
) -> None:
    kernel.run("session.borrowed.lender.pause = 0.3")  # the kernel's asks, sooner
    hub.dev.revoke_user("ada@example.com")
    answer = call(kernel, f"{hub.dev.api_url}/whoami")
    assert answer.get("error") == "LoginRequired", answer
    assert "Sign in to the Hub again" in answer["message"]
    refused = [e for e in token_calls(hub.dev) if e.status != 200]
    assert refused and all(e.error == "invalid_grant" and e.app == "web" for e in refused)
