"""No token, code or secret in any notebook: the committed ones, and freshly executed ones."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from notebook_runs import KERNEL_START, NOTEBOOKS, NotebookRun, pin_secrets

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# Okta's refresh tokens, authorization codes and device secrets are 43 base64url characters,
# its client secrets 40: no run of 40 or more such characters may appear anywhere.
OPAQUE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{40,}(?![A-Za-z0-9_-])")
BINARY = ("image/png", "image/jpeg")


def _texts(node: Any, key: str = "") -> Iterator[str]:
    """Every string in a notebook, outputs, metadata and widget state included (not images)."""
    if key in BINARY:
        return
    if isinstance(node, dict):
        for k, value in node.items():
            yield from _texts(value, k)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value, key)
    elif isinstance(node, str):
        yield node


def findings(notebook: dict[str, Any], known: list[str]) -> list[str]:
    found = []
    for text in _texts(notebook):
        found += [f"JWT {m[:12]}…" for m in JWT.findall(text)]
        # ipywidgets refer to other models as IPY_MODEL_<32 hex>: an id, not a secret.
        found += [
            f"opaque token {m[:6]}…"
            for m in OPAQUE.findall(text)
            if not re.fullmatch(r"IPY_MODEL_[0-9a-f]{32}", m)
        ]
        found += [f"known secret {s[:4]}…" for s in known if s in text]
    return found


def test_the_scanner_finds_what_it_looks_for() -> None:
    planted = {
        "cells": [
            {"outputs": [{"text": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJlcw"}]}
        ],
        "metadata": {
            "widgets": {"state": {"refresh": "i6mapTIAVSp2oJkgUnCACKKfZxt_H5MBLiqcybBBd04"}}
        },
    }
    found = findings(planted, ["pinned-secret-value"])
    assert any(f.startswith("JWT") for f in found)
    assert any(f.startswith("opaque token") for f in found)
    assert findings({"x": "a pinned-secret-value here"}, ["pinned-secret-value"])
    assert findings({"children": ["IPY_MODEL_" + "0f" * 16]}, []) == []  # a widget model id


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_holds_no_secret(path: Path) -> None:
    assert findings(json.loads(path.read_text()), []) == []


@pytest.fixture
def pinned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Client secrets the notebooks' dev servers will use, so the scan can look for them."""
    return pin_secrets(tmp_path, monkeypatch)


def execute(notebook: Any, path: Path) -> dict[str, Any]:
    client = NotebookClient(
        notebook,
        timeout=120,
        startup_timeout=KERNEL_START,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(path)}},
    )
    client.execute()
    executed: dict[str, Any] = json.loads(nbformat.writes(notebook))
    return executed


def test_an_executed_leak_is_caught(pinned: dict[str, str], tmp_path: Path) -> None:
    leaky = nbformat.v4.new_notebook()
    leaky.cells.append(
        nbformat.v4.new_code_cell(
            "from okta_nb_auth.tutorial import setup\n"
            "tut = setup()\n"
            "print(tut.config('web').client_secret)\n"
            "print(tut.login('web').refresh_token)\n"
            "tut.close()"
        )
    )
    found = findings(execute(leaky, tmp_path), list(pinned.values()))
    assert any(f.startswith("known secret") for f in found)
    assert any(f.startswith("opaque token") for f in found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_notebooks_with_widget_state_hold_no_secret(
    path: Path, notebook_run: Callable[[Path], NotebookRun]
) -> None:
    """The notebook after Run All (its one execution, ``notebook_runs``), saved with its
    widget state, its dev servers' client secrets pinned so the scan knows them."""
    run = notebook_run(path)
    assert run.run_all_errors == []
    assert findings(run.after_run_all, list(run.pinned.values())) == []
