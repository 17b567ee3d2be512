"""``okta-nb-auth``: the command line (``devserver``, ``login``, ``status``, ``logout``).

Each subcommand's module is imported only when that subcommand is named, so ``okta-nb-auth
--help`` loads neither the login flows nor the dev server (Starlette, uvicorn).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable

__all__ = ["main"]

_TERMINAL = ("login", "status", "logout")
_HELP = {
    "devserver": "run the Okta-compatible dev server",
    "login": "sign in with the device flow and store the login",
    "status": "who is signed in (no secrets shown)",
    "logout": "revoke the stored login and delete it",
}

Run = Callable[[argparse.Namespace], int]


def _warning_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> str:
    return f"okta-nb-auth: warning: {message}\n"  # a sentence for people, not a code location


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="okta-nb-auth",
        description="Sign in to Okta from a terminal, and run the Okta-compatible dev server.",
        epilog=(
            "Examples: okta-nb-auth devserver --port 8080 | okta-nb-auth login | "
            "okta-nb-auth status. Unset options come from OKTA_ISSUER (or OKTA_DOMAIN) and "
            "OKTA_CLIENT_ID (or OKTA_CLIENTID)."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    subs = {name: commands.add_parser(name, help=text) for name, text in _HELP.items()}
    return parser, subs


def _named(argv: list[str]) -> str | None:
    # The top-level parser has no option that takes a value: the first word is the command.
    return next((word for word in argv if not word.startswith("-")), None)


def _terminal(command: str, sub: argparse.ArgumentParser) -> Run:
    from .logins import _cli as login_cli

    login_cli.add_arguments(sub)
    runs: dict[str, Run] = {
        "login": login_cli.run,
        "status": login_cli.run_status,
        "logout": login_cli.run_logout,
    }
    return runs[command]


def _devserver(sub: argparse.ArgumentParser) -> Run | None:
    try:
        from .devserver._cli import add_arguments, run
    except ImportError as exc:  # the 'devserver' extra is not installed: login still works
        missing = exc.name or "starlette"
        print(
            f"okta-nb-auth: error: the dev server needs {missing}: "
            "pip install 'okta-nb-auth[devserver]'",
            file=sys.stderr,
        )
        return None
    add_arguments(sub)
    return run


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _warning_line
    argv = sys.argv[1:] if argv is None else argv
    parser, subs = _parser()
    command = _named(argv)
    run: Run | None = None
    if command in _TERMINAL:
        run = _terminal(command, subs[command])
    elif command == "devserver":
        run = _devserver(subs[command])
        if run is None:
            return 2
    args = parser.parse_args(argv)  # exits with usage for no command or an unknown one
    if run is None:  # not reached: parse_args accepted a command, so it was one of the four
        parser.error(f"unknown command {args.command!r}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
