"""Shared fixtures: a dev server per test module (fresh state) and the anyio backend."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from okta_nb_auth.devserver import DevServer


@pytest.fixture(scope="module")
def dev() -> Iterator[DevServer]:
    """One running dev server for a test module; its state carries over between its tests."""
    with DevServer(port=0) as server:
        yield server


@pytest.fixture
def fresh_dev() -> Iterator[DevServer]:
    """A dev server of its own, for tests that change apps, keys, faults or the clock."""
    with DevServer(port=0) as server:
        yield server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_configure(config: pytest.Config) -> None:
    # Nothing a test (or a notebook kernel it starts) does may touch the user's token store.
    os.environ["OKTA_NB_AUTH_CACHE"] = tempfile.mkdtemp(prefix="okta-nb-auth-tests-")
    for name in (
        "OKTA_NB_AUTH_STORE",
        "OKTA_NB_AUTH_PRESENTER",
        "OKTA_REDIRECT_URI",
        "OKTA_REDIRECTURI",
    ):
        os.environ.pop(name, None)  # a developer's own settings must not change the tests


@pytest.fixture(autouse=True)
def private_token_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test starts with an empty token store of its own (``OKTA_NB_AUTH_CACHE``)."""
    cache = tmp_path / "okta-cache"
    monkeypatch.setenv("OKTA_NB_AUTH_CACHE", str(cache))
    return cache
