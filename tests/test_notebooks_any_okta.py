"""Every notebook also runs with OKTA_* set: against an org that is not the embedded server.

The "real Okta" here is a dev server in another process (the cells cannot reach its
controls, as they could not reach Okta's), with device logins approved automatically: the
room demo of notebooks/README.md. Each notebook uses that server or says in its first cell
that it needs its own and why; every skipped cell says it skipped; a cell that waits for a
sign-in (``tut.login()``, a login widget's ``wait()``) says so first; the shared server is
named a dev server, not an Okta org.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pytest
from nbclient import NotebookClient
from notebook_runs import KERNEL_START

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CLI = Path(sys.executable).parent / "okta-nb-auth"
AUTO_APPROVE = ("--auto-approve", "ada@example.com")
# widget.wait(...), await widget.wait_async(...): blocks on a sign-in (tut.wait moves a clock).
SIGN_IN_WAIT = re.compile(r"(?<!\btut)\.wait(_async)?\(")


@pytest.fixture(scope="module")
def remote_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    config = tmp_path_factory.mktemp("org") / "org.toml"
    config.write_text("[apps.native]\ndevice_interval = 1\n")
    proc = subprocess.Popen(
        [str(CLI), "devserver", "--port", "0", "--config", str(config), *AUTO_APPROVE],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        issuer = proc.stdout.readline().split()[1]
        base = issuer.removesuffix("/oauth2/default")
        client_id = httpx.get(base + "/admin/apps").json()["native"]["client_id"]
        yield {"OKTA_DOMAIN": issuer, "OKTA_CLIENTID": client_id, "base": base}
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_against_another_org(
    path: Path, remote_org: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_DOMAIN", remote_org["OKTA_DOMAIN"])
    monkeypatch.setenv("OKTA_CLIENTID", remote_org["OKTA_CLIENTID"])
    monkeypatch.delenv("OKTA_NB_AUTH_DEVSERVER_CONFIG", raising=False)
    before = len(httpx.get(remote_org["base"] + "/admin/events").json())
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        startup_timeout=KERNEL_START,
        kernel_name="python3",
        resources={"metadata": {"path": "."}},
    ).execute()  # raises CellExecutionError on the first failing cell
    outputs = json.dumps([cell.get("outputs", []) for cell in notebook.cells])
    calls = len(httpx.get(remote_org["base"] + "/admin/events").json()) - before
    used = calls > 0 or remote_org["OKTA_DOMAIN"] in outputs
    first = text_of(next(cell for cell in notebook.cells if cell.cell_type == "code"))
    if "it runs on its own dev server" in outputs:
        assert "it runs on its own dev server" in first, "say it in the first cell, and why"
        assert not used, "a dev-only notebook must not touch the configured org"
    else:
        assert used, "the notebook did not use the configured org"
        assert "<Tutorial on a shared dev server" in first  # never called an Okta org
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        shown = text_of(cell)
        if "needs_dev(" in cell.source:
            assert "Skipped: this cell" in shown, f"a silent skip: {cell.source[:60]}"
        elif "tut.login(" in cell.source and "it runs on its own dev server" not in first:
            assert "This cell waits until you sign in" in shown, cell.source[:60]
        elif SIGN_IN_WAIT.search(cell.source):  # a login widget's wait(): say so before it
            assert first_line(cell).startswith("This cell waits until you sign in ("), cell.source


def first_line(cell: nbformat.NotebookNode) -> str:
    """The first line a code cell showed."""
    return text_of(cell).lstrip().split("\n", 1)[0]


def text_of(cell: nbformat.NotebookNode) -> str:
    """Everything a code cell showed, as text."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(str(output.get("text", "")))
        parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "".join(parts)
