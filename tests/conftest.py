"""Shared fixtures: a dev server per test module (fresh state) and the anyio backend; the
dev servers' RSA keys from a pool (``key_pool``); the garbage collector frozen after collection."""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from key_pool import KeyPool
from notebook_runs import NotebookRun, run_notebook
from xdist.scheduler import LoadScopeScheduling

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


@pytest.fixture(scope="session")
def notebook_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Path], NotebookRun]:
    """``notebook_run(path)``: the notebook's one execution (``notebook_runs``), shared by the
    tests that read it (``SHARED_GROUPS`` keeps them on one worker)."""
    runs: dict[Path, NotebookRun] = {}

    def get(path: Path) -> NotebookRun:
        if path not in runs:
            runs[path] = run_notebook(path, tmp_path_factory.mktemp("notebook-run"))
        return runs[path]

    return get


# -- parallel runs (pytest-xdist) ------------------------------------------------------------

#: Tests that share one notebook execution (``notebook_run``): one group, so one worker.
SHARED_GROUPS = {
    "tests/test_notebook_reruns.py::test_every_cell_runs_again_after_run_all": "notebook-runs",
    "tests/test_notebook_secrets.py::test_executed_notebooks_with_widget_state_hold_no_secret": (
        "notebook-runs"
    ),
}
#: Groups that take longest, longest first: they start first, so that the workers finish
#: together. Everything else keeps pytest's order.
FIRST = (
    "tests/test_make_lab.py",
    "tests/test_e2e_jupyterlab.py",
    "tests/test_hub_e2e.py",
    "notebook-runs",
    "tests/test_notebooks_any_okta.py",
    "tests/test_presenter.py",
    "tests/test_store_processes.py",
    "tests/test_secrets_surfaces.py",
    "notebooks/03_jwt_callback.ipynb",
    "notebooks/08_stay_signed_in.ipynb",
)


def group_of(nodeid: str) -> str:
    """A test's xdist group: its file (a module-scoped dev server is made once; nbval runs a
    notebook's cells in order in one kernel), or its entry in ``SHARED_GROUPS``."""
    return SHARED_GROUPS.get(nodeid.split("[", 1)[0]) or nodeid.split("::", 1)[0]


class GroupScheduling(LoadScopeScheduling):
    """xdist's scope scheduling over :func:`group_of` (pytest 9 no longer lets xdist's own
    ``loadgroup`` rename the tests it groups, so the groups are computed here)."""

    def _split_scope(self, nodeid: str) -> str:
        return group_of(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> GroupScheduling:
    return GroupScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest groups first (``FIRST``); xdist hands out groups in this order."""
    rank = {group: index for index, group in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(group_of(item.nodeid), len(FIRST)))
