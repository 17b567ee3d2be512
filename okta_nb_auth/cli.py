"""``okta-nb-auth``: the command line (``devserver``, ``login``)."""

from __future__ import annotations

import argparse
import sys

from . import _login_cli

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="okta-nb-auth", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    devserver = commands.add_parser("devserver", help="run the Okta-compatible dev server")
    login = commands.add_parser("login", help="sign in with the device flow in this terminal")
    _login_cli.add_arguments(login)
    try:
        from .devserver._cli import add_arguments, run
    except ImportError as exc:  # the 'devserver' extra is not installed: login still works
        missing = exc.name or "starlette"
        args, unknown = parser.parse_known_args(argv)
        if args.command == "login":
            if unknown:
                parser.error(f"unrecognized arguments: {' '.join(unknown)}")
            return _login_cli.run(args)
        print(
            f"okta-nb-auth: error: the dev server needs {missing}: "
            "pip install 'okta-nb-auth[devserver]'",
            file=sys.stderr,
        )
        return 2
    add_arguments(devserver)
    args = parser.parse_args(argv)
    if args.command == "login":
        return _login_cli.run(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
