"""End to end on a real JupyterHub (issue 14): Okta tokens reach a kernel through the Hub.

One Hub for the module (``hub_harness``): Chromium signs in to it through the dev server as
Ada, which spawns her server; the tests run code in a kernel of that server that asks the
Hub with the server's own token (``JUPYTERHUB_API_TOKEN``), as the package's Hub source will
(``hub_probe`` is what the kernel imports). The Hub's ``auth_refresh_age`` is 1 s, the
``web`` app's access tokens live ``TTL`` s on the dev server's clock, which the tests move.
The tests run in order: the last one revokes Ada's tokens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hub_harness import USER, Hub, signed_in_hub
from hub_kernel import HubKernel

from okta_nb_auth.devserver import DevServer, Event

pytestmark = pytest.mark.slow

TESTS = Path(__file__).parent
TTL = 120  # the web app's access-token lifetime, seconds of the dev server's clock
EXPIRIES = 3


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with DevServer(port=0) as dev:
        dev.configure_app("web", access_token_ttl=TTL)
        with signed_in_hub(tmp_path_factory.mktemp("hub"), dev) as running:
            yield running


@pytest.fixture(scope="module")
def kernel(hub: Hub) -> Iterator[HubKernel]:
    with hub.kernel() as running:
        running.run(f"import json, sys; sys.path.insert(0, {str(TESTS)!r}); import hub_probe")
        yield running


def probe(kernel: HubKernel, call: str) -> Any:
    """``hub_probe.<call>`` in the kernel; its JSON result."""
    return kernel.run_json(f"print(json.dumps(hub_probe.{call}))")


def refreshes(dev: DevServer) -> list[Event]:
    """The dev server's refresh-token grants (the Hub's: no other client holds Ada's)."""
    return [e for e in dev.events if e.endpoint == "token" and e.grant_type == "refresh_token"]


def test_a_hub_login_puts_okta_tokens_in_auth_state(hub: Hub, kernel: HubKernel) -> None:
    seen = probe(kernel, "hub_user()")
    assert seen["status"] == 200
    state = seen["auth_state"]
    assert state is not None, seen["model_keys"]
    # OAuthenticator 17 (oauth2.py, build_auth_state_dict): the token response's fields at
    # the top, and the whole token response under "token_response"; the userinfo answer
    # under "oauth_user". No absolute expiry: only the response's relative "expires_in".
    assert state["keys"] == [
        "access_token", "id_token", "oauth_user", "refresh_token", "scope", "token_response",
    ]  # fmt: skip
    expected = ["access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"]
    assert state["response_keys"] == expected
    assert state["access"] == state["response_access"] is not None
    assert state["refresh"] == state["response_refresh"] is not None
    assert "offline_access" in state["scope"] and state["expires_in"] == TTL
    assert probe(kernel, f"call_api({hub.dev.api_url!r})") == 200
    # The user's login is the dev server's authorization-code grant for the web app.
    codes = [e for e in hub.dev.events if e.grant_type == "authorization_code"]
    assert [(e.app, e.status, e.auth_method) for e in codes] == [
        ("web", 200, "client_secret_basic")
    ]


def test_the_self_model_has_no_auth_state(kernel: HubKernel) -> None:
    """``GET /hub/api/user`` (apihandlers/users.py, SelfAPIHandler) never fills auth_state:
    the kernel has to ask for ``/users/{name}``."""
    seen = probe(kernel, 'hub_user("/user")')
    assert seen["status"] == 200 and seen["auth_state"] is None
    # The server's token holds the scope (given to the user and server roles: hub_config).
    assert "admin:auth_state!user=ada" in seen["scopes"]
    assert not [s for s in seen["scopes"] if s.startswith("admin:") and not s.endswith("=ada")]


def test_a_token_without_the_scope_sees_no_auth_state(hub: Hub) -> None:
    """A token of Ada's with the server role's default scopes and no admin:auth_state: the
    model has no auth_state key at all (apihandlers/base.py, user_model's access_map)."""
    with hub.admin() as api:
        made = api.post(f"users/{USER}/tokens", json={"scopes": ["users:activity!user"]})
        assert made.status_code == 201, made.text
        token = made.json()["token"]
        try:
            headers = {"Authorization": f"token {token}"}
            model = httpx.get(f"{hub.api_url}/users/{USER}", headers=headers).json()
        finally:
            api.delete(f"users/{USER}/tokens/{made.json()['id']}")
    assert model["name"] == USER and "auth_state" not in model


def test_after_each_expiry_the_kernel_gets_a_new_access_token(hub: Hub, kernel: HubKernel) -> None:
    """The Hub refreshes when its userinfo call with the old token fails (OAuthenticator's
    refresh_user), on an API request of the server's token once auth_refresh_age has passed;
    one refresh-token grant per expiry in the dev server's log, all by the Hub."""
    api, seen = hub.dev.api_url, []
    for _ in range(EXPIRIES):
        old = probe(kernel, "hub_user()")["auth_state"]["access"]
        hub.dev.advance_clock(TTL + 1)
        assert probe(kernel, f"call_api({api!r})") in (200, 401)  # 401 unless refreshed
        new = probe(kernel, f"wait_for_new_access_token({old!r})")
        assert new["access"] is not None, hub.log()[-3000:]
        assert probe(kernel, f"call_api({api!r})") == 200
        seen.append(new["access"])
    assert len(set(seen)) == EXPIRIES
    grants = refreshes(hub.dev)
    assert [(e.app, e.status) for e in grants] == [("web", 200)] * EXPIRIES


def _ask_until_a_refresh_fails(dev: DevServer, kernel: HubKernel, before: int) -> list[Event]:
    """The kernel asks the Hub (which refreshes at most once per auth_refresh_age) until the
    dev server has refused a refresh (bounded)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kernel.run("hub_probe.hub_user()")
        failed = [e for e in refreshes(dev)[before:] if e.status != 200]
        if failed:
            return failed
        time.sleep(0.2)
    raise AssertionError("the Hub did not try to refresh")


def test_when_the_refresh_fails_the_hub_still_answers_with_the_stale_tokens(
    hub: Hub, kernel: HubKernel
) -> None:
    """JupyterHub 6.1 (handlers/base.py, refresh_auth; auth_refresh_strict False): a
    token-authenticated request whose refresh fails gets the stale auth_state, 200, and the
    next request tries again (a failed refresh does not reset the user's refresh age)."""
    old = probe(kernel, "hub_user()")["auth_state"]
    before = len(refreshes(hub.dev))
    hub.dev.revoke_user("ada@example.com")
    failed = _ask_until_a_refresh_fails(hub.dev, kernel, before)
    assert [(e.status, e.error) for e in failed][:1] == [(400, "invalid_grant")]
    seen = probe(kernel, "hub_user()")
    assert seen["status"] == 200 and seen["auth_state"] == old
    assert probe(kernel, f"call_api({hub.dev.api_url!r})") == 401  # one more ask of the Hub
    assert "Cannot refresh on API requests" in hub.log()
    tries = [(e.status, e.error) for e in refreshes(hub.dev)[before:]]
    assert tries == [(400, "invalid_grant")] * (len(failed) + 2)


def test_the_kernel_environment_has_the_hub_token_and_no_okta_token(kernel: HubKernel) -> None:
    """The spawner passes no auth_state to the server (no pre_spawn_hook here): the kernel
    holds the Hub's token (also as the legacy ``JPY_API_TOKEN``), not Okta's."""
    seen = probe(kernel, "environment()")
    assert seen["tokens_checked"] == 3 and seen["holding_okta_tokens"] == []
    assert {"JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JUPYTERHUB_USER"} <= set(
        seen["hub_variables"]
    )
