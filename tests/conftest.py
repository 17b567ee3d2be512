"""Shared fixtures: a dev server per test module (fresh state) and the anyio backend; the
dev servers' RSA keys from a pool (``key_pool``); the garbage collector frozen after collection."""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from key_pool import KeyPool

from okta_nb_auth.devserver import DevServer
from okta_nb_auth.devserver._key_source import use_key_source


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
    use_key_source(KeyPool())  # the suite starts hundreds of dev servers: a key is most of one


def pytest_unconfigure(config: pytest.Config) -> None:
    use_key_source(None)


def pytest_collection_finish(session: pytest.Session) -> None:
    # What is alive now (modules, collected tests) lives to the end: frozen, it is no longer
    # scanned by every collection, so the tests' gc.collect() calls (which drop closed
    # sessions' holders) cost what the tests allocate, not what pytest and its imports hold.
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def private_token_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test starts with an empty token store of its own (``OKTA_NB_AUTH_CACHE``)."""
    cache = tmp_path / "okta-cache"
    monkeypatch.setenv("OKTA_NB_AUTH_CACHE", str(cache))
    return cache
