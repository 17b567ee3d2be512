"""A learner's re-runs: after Run All, running any code cell again works, or fails with a
one-line message that says what to do (never a traceback from httpx or our internals).

Each notebook is executed once in a real kernel; then every code cell but the set-up cell runs
again, in order, in the same kernel (the learner who scrolls up and presses Shift+Enter; the
set-up cell would start everything afresh). That execution (``notebook_runs``) also serves
``test_notebook_secrets``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from notebook_runs import KERNEL_START, NOTEBOOKS, NotebookRun, errors_of


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_runs_again_after_run_all(
    path: Path, notebook_run: Callable[[Path], NotebookRun]
) -> None:
    run = notebook_run(path)
    assert not run.run_all_errors, f"Run All failed: {run.run_all_errors}"
    assert not run.rerun_problems, "\n".join(run.rerun_problems)


def test_a_kernel_shows_one_line_for_a_cell_run_too_early_or_a_stopped_server() -> None:
    """The set-up cell's hints in a real kernel (ipykernel sends them as error outputs)."""
    notebook = nbformat.v4.new_notebook()
    for source in (
        "import httpx\nfrom okta_nb_auth.tutorial import setup\n\ntut = setup()",
        "print(session)",  # a cell above it has not run
        "tut.close()\nhttpx.get(tut.dev.api_url + '/whoami')",  # after a stop
        "1 / 0",
    ):
        notebook.cells.append(nbformat.v4.new_code_cell(source))
    client = NotebookClient(
        notebook,
        timeout=120,
        startup_timeout=KERNEL_START,
        kernel_name="python3",
        allow_errors=True,
    )
    client.execute()
    setup_cell, early, stopped, other = (errors_of(cell) for cell in notebook.cells)
    assert setup_cell == []
    assert [error["traceback"] for error in early] == [
        [
            "NameError: 'session' is not defined yet: run the cells above first "
            "(Run > Run All Above Selected Cell)."
        ]
    ]
    (refused,) = stopped
    assert refused["ename"] == "ConnectError" and len(refused["traceback"]) == 1
    assert "is not running" in refused["traceback"][0]
    assert "re-run the notebook's first cell (setup)" in refused["traceback"][0]
    (division,) = other
    assert division["ename"] == "ZeroDivisionError" and len(division["traceback"]) > 1
