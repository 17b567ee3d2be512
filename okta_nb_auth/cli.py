"""``okta-nb-auth``: the command line (``devserver``, ``login``, ``status``, ``logout``)."""

from __future__ import annotations

import argparse
import sys
import warnings

from .logins import _cli as _login_cli

__all__ = ["main"]

_TERMINAL = {
    "login": _login_cli.run,
    "status": _login_cli.run_status,
    "logout": _login_cli.run_logout,
}


def _warning_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> str:
    return f"okta-nb-auth: warning: {message}\n"  # a sentence for people, not a code location


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = _warning_line
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
    devserver = commands.add_parser("devserver", help="run the Okta-compatible dev server")
    login = commands.add_parser("login", help="sign in with the device flow and store the login")
    status = commands.add_parser("status", help="who is signed in (no secrets shown)")
    logout = commands.add_parser("logout", help="revoke the stored login and delete it")
    for sub in (login, status, logout):
        _login_cli.add_arguments(sub)
    try:
        from .devserver._cli import add_arguments, run
    except ImportError as exc:  # the 'devserver' extra is not installed: login still works
        missing = exc.name or "starlette"
        args, unknown = parser.parse_known_args(argv)
        if args.command in _TERMINAL:
            if unknown:
                parser.error(f"unrecognized arguments: {' '.join(unknown)}")
            return _TERMINAL[args.command](args)
        print(
            f"okta-nb-auth: error: the dev server needs {missing}: "
            "pip install 'okta-nb-auth[devserver]'",
            file=sys.stderr,
        )
        return 2
    add_arguments(devserver)
    args = parser.parse_args(argv)
    if args.command in _TERMINAL:
        return _TERMINAL[args.command](args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
