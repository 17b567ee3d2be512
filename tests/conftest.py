"""Shared fixtures: a dev server per test module (fresh state) and the anyio backend."""

from __future__ import annotations

from collections.abc import Iterator

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
