"""Secrets outside the obvious surfaces: ``vars()``, pickling, copies, tracebacks with locals.

A confidential app on the dev server logs in, refreshes and loses its refresh token (so the
dead one is remembered); then ``vars()`` of every public object (walked a few levels into the
package's own objects) is searched for every token and the secret. Pickling a TokenSet, a
config with a secret, an OktaAuth or a session is refused with :class:`PicklingRefused`,
which names the safe way; ``pytest --showlocals`` on a failing test shows masked values.
"""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from okta_nb_auth import (
    AsyncAuthSession,
    AuthSession,
    FileStore,
    LoginRequired,
    OktaConfig,
    PicklingRefused,
    TokenSet,
)
from okta_nb_auth._secret import Secret
from okta_nb_auth.devserver import DevServer

ADA = "ada@example.com"


def package_objects(root: object, depth: int = 4) -> Iterator[tuple[str, object]]:
    """(path, value) of everything reachable through vars() of the package's own objects."""
    seen: set[int] = set()

    def walk(path: str, value: object, level: int) -> Iterator[tuple[str, object]]:
        if id(value) in seen or level > depth:
            return
        seen.add(id(value))
        yield path, value
        if isinstance(value, dict):
            for key, item in list(value.items()):
                yield from walk(f"{path}[{key!r}]", item, level + 1)
        elif isinstance(value, (list, tuple, set)):
            for n, item in enumerate(value):
                yield from walk(f"{path}[{n}]", item, level + 1)
        elif type(value).__module__.startswith("okta_nb_auth") and hasattr(value, "__dict__"):
            for name, item in vars(value).items():
                yield from walk(f"{path}.{name}", item, level + 1)

    yield from walk(type(root).__name__, root, 0)


def leaks(root: object, secrets: set[str]) -> list[str]:
    found = []
    for path, value in package_objects(root):
        walked = isinstance(value, (dict, list, tuple, set)) or hasattr(value, "__dict__")
        if walked and not isinstance(value, str):
            continue  # walked into; their leaves are checked one by one
        shown = repr(value)
        found += [f"{path} shows a secret" for s in secrets if s in shown]
    return found


@pytest.fixture
def web(fresh_dev: DevServer) -> tuple[DevServer, OktaConfig]:
    fresh_dev.configure_app("web", rotation="ROTATE", grace_period=0)
    return fresh_dev, fresh_dev.config("web")


def test_vars_of_public_objects_hold_no_token_or_secret(
    web: tuple[DevServer, OktaConfig],
) -> None:
    dev, config = web
    login = dev.login_as(ADA, "web")
    seen: list[TokenSet] = [login]
    session = AuthSession(config, login, on_tokens=seen.append, store=FileStore())
    async_session = AsyncAuthSession(config, login)
    session.refresh()
    dev.revoke_user(ADA)  # the refresh token dies: the holder remembers it (as a digest)
    with pytest.raises(LoginRequired):
        session.refresh()
    secrets = {config.client_secret or ""} | {
        t for tokens in seen for t in (tokens.access_token, tokens.refresh_token, tokens.id_token)
        if t
    }  # fmt: skip
    objects: list[object] = [
        config,
        *seen,
        session.okta_auth,
        session,
        async_session,
        session.okta_auth.verifier,
        session.okta_auth.store,
        session.okta_auth.stored,
    ]
    try:
        for obj in objects:
            assert leaks(obj, secrets) == [], type(obj).__name__
        assert "_dead_refresh_digest" in vars(session.okta_auth)  # the case the review found
    finally:
        session.close()


@pytest.mark.parametrize(
    "make",
    [
        lambda dev: dev.login_as(ADA),
        lambda dev: dev.config("web"),
        lambda dev: AuthSession(dev.config("native"), dev.login_as(ADA)),
        lambda dev: AsyncAuthSession(dev.config("native"), dev.login_as(ADA)),
        lambda dev: AuthSession(dev.config("native"), dev.login_as(ADA)).okta_auth,
        lambda dev: dev.login_as(ADA).refresh_token,
        lambda dev: dev.config("web").client_secret,
    ],
    ids=["TokenSet", "OktaConfig-with-secret", "AuthSession", "AsyncAuthSession", "OktaAuth",
         "a-token", "a-client-secret"],
)  # fmt: skip
def test_pickling_a_secret_holder_is_refused_and_names_the_safe_way(
    dev: DevServer, make: Any
) -> None:
    obj = make(dev)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(PicklingRefused, match="token store") as info:
            pickle.dumps(obj, protocol=protocol)
        assert isinstance(info.value, TypeError)  # what pickle users catch
    assert "never pickled" in str(info.value)


def test_what_holds_no_secret_still_pickles_and_secret_holders_still_copy(
    dev: DevServer,
) -> None:
    public = dev.config("native")  # a public client: no secret
    assert pickle.loads(pickle.dumps(public)) == public
    tokens = dev.login_as(ADA)
    assert copy.copy(tokens) is tokens and copy.deepcopy(tokens) is tokens  # immutable
    assert copy.deepcopy({"tokens": tokens})["tokens"] is tokens
    secret = dev.config("web")
    assert copy.deepcopy(secret) is secret


def test_tokens_are_strings_everywhere_but_in_a_repr(dev: DevServer) -> None:
    tokens = dev.login_as(ADA)
    token = tokens.access_token
    assert isinstance(token, Secret) and isinstance(token, str)
    assert f"Bearer {token}" == "Bearer " + str(token) and len(token) > 20
    assert (
        token not in repr(token) and token not in repr({"t": token}) and "[masked]" in repr(token)
    )
    assert TokenSet.from_response({"access_token": str(token), "expires_in": 60}) is not None


FAILING_TEST = """
import os

from okta_nb_auth import OktaConfig, TokenSet
from okta_nb_auth._protocol import refresh_request


def test_fails():
    env = os.environ
    config = OktaConfig(env["T_ISSUER"], "cid", env["T_SECRET"])
    answer = {"access_token": env["T_ACCESS"], "expires_in": 60, "refresh_token": env["T_REFRESH"]}
    tokens = TokenSet.from_response(answer)
    del answer, env  # raw values are the test's business, not the package's
    refresh_token = tokens.refresh_token
    client_secret = config.client_secret
    request = refresh_request(config, config.issuer + "/v1/token", refresh_token)
    assert request is None
"""


def test_pytest_showlocals_shows_masked_values(tmp_path: Path, dev: DevServer) -> None:
    tokens = dev.login_as(ADA)
    secret = dev.config("web").client_secret or ""
    assert tokens.refresh_token is not None
    values = {
        "ISSUER": dev.issuer,
        "SECRET": secret,
        "ACCESS": tokens.access_token,
        "REFRESH": tokens.refresh_token,
    }
    test = tmp_path / "test_fails_with_locals.py"
    test.write_text(FAILING_TEST)
    env = {**os.environ, **{f"T_{name}": value for name, value in values.items()}}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--showlocals", "-q",
         "--no-header", str(test)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False, env=env,
    )  # fmt: skip
    shown = done.stdout + done.stderr
    assert done.returncode == 1, shown
    assert "refresh_token" in shown and "client_secret" in shown and "[masked]" in shown
    for name in ("SECRET", "ACCESS", "REFRESH"):
        assert values[name] not in shown, name
