"""End to end on a real JupyterHub (issue 14): Okta tokens reach a kernel through the Hub.

One Hub for the module (``hub_harness``): Chromium signs in to it through the dev server as
Ada, which spawns her server; the tests run code in kernels of that server, with the
server's own token (``JUPYTERHUB_API_TOKEN``), as the package's Hub source will.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_harness import Hub, running_hub, sign_in

from okta_nb_auth.devserver import DevServer

pytestmark = pytest.mark.slow

#: In the kernel: GET the user's model from the Hub with the server's own token; prints
#: {"status", "keys", "auth_state"} as JSON.
READ_USER = """
import json, os, httpx
_r = httpx.get(
    os.environ["JUPYTERHUB_API_URL"] + "/users/" + os.environ["JUPYTERHUB_USER"],
    headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]},
)
_m = _r.json()
print(json.dumps({"status": _r.status_code, "keys": sorted(_m), "auth_state": _m.get("auth_state")}))
"""


def fingerprint(token: str) -> str:
    """A token's short digest: what an assertion may show instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with DevServer(port=0) as dev, running_hub(tmp_path_factory.mktemp("hub"), dev) as running:
        sign_in(running)
        yield running


def test_a_hub_login_puts_okta_tokens_in_auth_state(hub: Hub) -> None:
    with hub.kernel() as kernel:
        seen = kernel.run_json(READ_USER)
    assert seen["status"] == 200
    state = seen["auth_state"]
    assert state is not None, seen["keys"]
    print(sorted(state), sorted(state["token_response"]))
