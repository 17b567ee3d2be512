"""A learner's slips in a real IPython shell: one line that says what to run, for a stopped dev
server and for a cell run before the cells above it; a full traceback for everything else."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from okta_nb_auth.tutorial._hints import HANDLED, install_hints

RUN_ABOVE = "run the cells above first (Run > Run All Above Selected Cell)."


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    """The IPython shell a kernel runs, without its history file."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ipython = InteractiveShell.instance(config=config, colors="nocolor")
    try:
        yield ipython
    finally:
        InteractiveShell.clear_instance()


@pytest.fixture
def tut(shell: InteractiveShell) -> Iterator[None]:
    """The set-up cell run inside the shell (it registers the hints), on a dev server."""
    assert shell.custom_exceptions == ()
    shell.run_cell("from okta_nb_auth.tutorial import setup\ntut = setup(environ={})")
    try:
        yield
    finally:
        shell.run_cell("tut.close()")


def run(shell: InteractiveShell, code: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run a cell that fails; what it showed, line by line."""
    capsys.readouterr()
    result = shell.run_cell(code)
    assert result.error_in_exec is not None, "the cell was meant to fail"
    captured = capsys.readouterr()
    return [line for line in (captured.out + captured.err).splitlines() if line.strip()]


def assert_traceback(lines: list[str], last: str) -> None:
    assert len(lines) > 3 and any(line.startswith("---->") for line in lines), lines
    assert lines[-1].startswith(last), lines[-1]


@pytest.mark.usefixtures("tut")
def test_a_stopped_dev_server_says_to_rerun_the_first_cell(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    assert shell.custom_exceptions == HANDLED  # setup() registered the hints
    shell.run_cell("import httpx\napi = tut.dev.api_url\nport = tut.dev.port\ntut.close()")
    lines = run(shell, "httpx.get(api + '/whoami')", capsys)
    port = shell.user_ns["port"]
    assert lines == [
        f"ConnectError: the dev server at 127.0.0.1:{port} is not running (a kernel restart "
        "or tut.close() stops it): re-run the notebook's first cell (setup), then the cells "
        "from there to this one."
    ]
    lines = run(shell, "httpx.get(f'http://localhost:{port}/')", capsys)
    assert len(lines) == 1
    assert lines[0].startswith(f"ConnectError: the dev server at localhost:{port} is not running")


@pytest.mark.usefixtures("tut")
def test_an_undefined_name_says_to_run_the_cells_above(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = run(shell, "print(tokens.access_token)", capsys)
    assert lines == [f"NameError: 'tokens' is not defined yet: {RUN_ABOVE}"]
    shell.run_cell("def call_api():\n    return session.get(api)")
    assert run(shell, "call_api()", capsys) == [
        f"NameError: 'session' is not defined yet: {RUN_ABOVE}"
    ]


@pytest.mark.usefixtures("tut")
def test_other_errors_keep_their_traceback(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_traceback(run(shell, "1 / 0", capsys), "ZeroDivisionError")
    # httpx errors other than a refused connection to this computer
    shell.run_cell(
        "import httpx\n"
        "def failing(error):\n"
        "    def handler(request):\n"
        "        raise error(request.url.host, request=request)\n"
        "    return httpx.Client(transport=httpx.MockTransport(handler))\n"
    )
    remote = "failing(httpx.ConnectError).get('https://example.com/')"
    assert_traceback(run(shell, remote, capsys), "ConnectError")
    slow = "failing(httpx.ReadTimeout).get('http://127.0.0.1:1/')"
    assert_traceback(run(shell, slow, capsys), "ReadTimeout")
    by_hand = "raise httpx.ConnectError('no request')"
    assert_traceback(run(shell, by_hand, capsys), "ConnectError")
    # a NameError inside a library is a bug there, not a cell run too early
    library = (
        "import types\n"
        "lib = types.ModuleType('lib')\n"
        "exec('def f():\\n    return missing', lib.__dict__)\n"
        "lib.f()"
    )
    assert_traceback(run(shell, library, capsys), "NameError")
    unbound = "def g():\n    x += 1\ng()"
    assert_traceback(run(shell, unbound, capsys), "UnboundLocalError")
    # the package's own errors still render as their one line
    okta = "from okta_nb_auth import LoginRequired\nraise LoginRequired('log in again')"
    assert run(shell, okta, capsys) == ["LoginRequired: log in again"]


def test_hints_register_once_and_leave_another_handler_alone(shell: InteractiveShell) -> None:
    assert install_hints(shell) and install_hints(shell)
    handler = shell.CustomTB
    assert shell.custom_exceptions == HANDLED
    shell.run_cell("from okta_nb_auth.tutorial import setup\ntut = setup(environ={})")
    try:
        assert shell.CustomTB is handler  # a second setup() changed nothing
    finally:
        shell.run_cell("tut.close()")

    def theirs(*args: Any, **kwargs: Any) -> None:
        return None

    shell.set_custom_exc((KeyError,), theirs)
    assert not install_hints(shell)
    assert shell.custom_exceptions == (KeyError,)
