"""Each tutorial notebook executed once in a real kernel for two tests: Run All, then every
code cell again (``test_notebook_reruns``), with the widget state saved after Run All and the
dev servers' client secrets pinned, so the executed notebook can be scanned for secrets
(``test_notebook_secrets``). One execution serves both: the kernel runs the notebook once.
"""

from __future__ import annotations

import copy
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

__all__ = ["KERNEL_START", "NOTEBOOKS", "NotebookRun", "errors_of", "pin_secrets", "run_notebook"]

#: Seconds a kernel may take to answer at start: on a loaded 2-core machine starting several
#: kernels at once, nbclient's default of 60 s was once not enough.
KERNEL_START = 180

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
assert NOTEBOOKS, "no notebooks found"
PINNED_APPS = ("web", "service", "no-refresh")


@dataclass
class NotebookRun:
    """What one execution of a notebook showed."""

    pinned: dict[str, str]  # app -> the client secret its dev server was given
    after_run_all: dict[str, Any] = field(default_factory=dict)  # saved, with widget state
    run_all_errors: list[str] = field(default_factory=list)  # "cell N: ename: evalue"
    rerun_problems: list[str] = field(default_factory=list)  # re-runs that showed a traceback


def errors_of(cell: Any) -> list[dict[str, Any]]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def pin_secrets(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Client secrets the notebook's dev servers will use, so the scan can look for them."""
    values = {app: secrets.token_urlsafe(30) for app in PINNED_APPS}
    config = folder / "devserver.toml"
    config.write_text(
        "".join(f'[apps.{app}]\nclient_secret = "{value}"\n' for app, value in values.items())
    )
    monkeypatch.setenv("OKTA_NB_AUTH_DEVSERVER_CONFIG", str(config))
    for name in ("OKTA_DOMAIN", "OKTA_ISSUER", "OKTA_CLIENTID", "OKTA_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    return values


def _rerun(client: NotebookClient, notebook: Any, run: NotebookRun) -> None:
    """Every code cell but the set-up cell once more, in order (the learner who scrolls up
    and presses Shift+Enter); a failure must be one line that says what to do."""
    codes = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    for index in codes[1:]:
        again = copy.deepcopy(notebook.cells[index])
        client.execute_cell(again, index)
        for error in errors_of(again):
            if len(error.get("traceback", [])) != 1:  # an OktaAuthError renders as one line
                run.rerun_problems.append(
                    f"cell {index}: {error['ename']}: {error['evalue'][:200]}"
                )


def run_notebook(path: Path, folder: Path) -> NotebookRun:
    """Execute ``path`` once (``folder``: a private directory for its dev-server config)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        run = NotebookRun(pinned=pin_secrets(folder, monkeypatch))
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=120,
            startup_timeout=KERNEL_START,
            kernel_name="python3",
            allow_errors=True,
            store_widget_state=True,
            resources={"metadata": {"path": str(path.parent)}},
        )
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):  # Run All
                client.execute_cell(cell, index)
                run.run_all_errors += [
                    f"cell {index}: {e['ename']}: {e['evalue']}" for e in errors_of(cell)
                ]
            client.set_widgets_metadata()
            run.after_run_all = json.loads(nbformat.writes(notebook))
            _rerun(client, notebook, run)
    return run
