"""What importing the package loads: the login, widget and dev-server code only when used.

Each case runs a fresh interpreter, since this process has long imported everything. These
tests assert module names, never timings: the import's cost is measured in
``bench/bench_import.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

import okta_nb_auth
import okta_nb_auth.store

# Heavy or side-effecting modules that a kernel which only calls APIs should not pay for.
FORBIDDEN = (
    "ipywidgets",
    "IPython",
    "starlette",
    "uvicorn",
    "matplotlib",
    "webbrowser",
    "subprocess",
    "okta_nb_auth.logins",
    "okta_nb_auth.widgets",
    "okta_nb_auth.devserver",
    "okta_nb_auth.tutorial",
)


def loaded_after(code: str) -> set[str]:
    """The names in ``sys.modules`` after a fresh interpreter runs ``code``."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def forbidden_in(modules: set[str]) -> set[str]:
    return {
        name
        for name in modules
        if any(name.split(".")[: f.count(".") + 1] == f.split(".") for f in FORBIDDEN)
    }


def test_the_forbidden_list_is_seen_when_loaded() -> None:
    # The check itself can fail: a run that loads the widget reports it.
    modules = loaded_after("import okta_nb_auth.widgets, webbrowser")
    assert {"okta_nb_auth.widgets", "webbrowser"} <= forbidden_in(modules)


def test_a_bare_import_loads_no_login_code() -> None:
    modules = loaded_after("import okta_nb_auth")
    assert forbidden_in(modules) == set()


@pytest.mark.parametrize(
    "code",
    [
        "from okta_nb_auth import AuthSession, OktaConfig, TokenSet",
        "from okta_nb_auth import AsyncAuthSession, OktaAuth, verify_access_token",
        "import okta_nb_auth; okta_nb_auth.AuthSession; okta_nb_auth.FileStore",
    ],
)
def test_the_session_api_loads_no_login_code(code: str) -> None:
    modules = loaded_after(code)
    assert "okta_nb_auth._session" in modules  # the import did happen
    assert {"httpx", "jwt"} <= modules  # the session's own dependencies are allowed
    assert forbidden_in(modules) == set()


def test_optional_parts_wait_for_their_feature() -> None:
    # No private_key_jwt, no file or keyring store asked for: their code stays unloaded.
    modules = loaded_after(
        "from okta_nb_auth import AuthSession, OktaConfig\n"
        "OktaConfig(issuer='https://example.okta.com/oauth2/default', client_id='0oa1')"
    )
    assert "okta_nb_auth._config" in modules
    unused = {
        "okta_nb_auth._client_auth",
        "okta_nb_auth.store._file",
        "okta_nb_auth.store._keyring",
    }
    assert unused.isdisjoint(modules)
    assert "keyring" not in modules


def test_login_loads_the_login_code_when_used() -> None:
    modules = loaded_after(
        "import okta_nb_auth\nassert okta_nb_auth.login.__module__ == 'okta_nb_auth.widgets'"
    )
    assert {"okta_nb_auth.widgets", "okta_nb_auth.logins"} <= modules
    assert "ipywidgets" not in modules  # the widget's own import waits for a display
    assert not any(name.startswith(("starlette", "uvicorn")) for name in modules)


def test_dev_server_loads_on_first_use() -> None:
    modules = loaded_after("from okta_nb_auth import DevServer")
    assert {"okta_nb_auth.devserver", "starlette"} <= modules


def test_cli_help_loads_no_login_or_dev_server_code() -> None:
    modules = loaded_after(
        "from okta_nb_auth import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert "okta_nb_auth.cli" in modules
    assert forbidden_in(modules) == set()


def test_a_cli_subcommand_loads_only_its_own_code() -> None:
    modules = loaded_after(
        "from okta_nb_auth import cli\ntry:\n    cli.main(['status', '--help'])\n"
        "except SystemExit:\n    pass"
    )
    assert "okta_nb_auth.logins._cli" in modules
    assert not any(name.startswith(("okta_nb_auth.devserver", "starlette")) for name in modules)


@pytest.mark.parametrize("package", [okta_nb_auth, okta_nb_auth.store], ids=lambda p: p.__name__)
def test_every_public_name_resolves_and_is_listed(package: types.ModuleType) -> None:
    listed = dir(package)
    for name in package.__all__:
        assert name in listed, name
        value = getattr(package, name)
        assert value is getattr(package, name)  # the same object every time
    assert listed == sorted(listed)


@pytest.mark.parametrize("package", [okta_nb_auth, okta_nb_auth.store], ids=lambda p: p.__name__)
def test_the_lazy_table_is_exactly_the_public_names(package: types.ModuleType) -> None:
    table: dict[str, tuple[str, ...]] = package._MODULES
    names = [name for names in table.values() for name in names]
    assert len(names) == len(set(names))
    assert set(names) == set(package.__all__) - {"__version__"}
    for module, defined in table.items():
        for name in defined:
            value = getattr(package, name)
            assert vars(sys.modules[package.__name__ + module])[name] is value, name


def test_star_import_in_a_fresh_interpreter_gives_every_name() -> None:
    modules = loaded_after(
        "from okta_nb_auth import *\nimport okta_nb_auth\n"
        "missing = [n for n in okta_nb_auth.__all__ if n not in globals()]\n"
        "assert not missing, missing"
    )
    assert "okta_nb_auth.widgets" in modules


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match=r"okta_nb_auth.* no attribute 'Nope'"):
        okta_nb_auth.Nope  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(okta_nb_auth, "logins_") and hasattr(okta_nb_auth, "login")
