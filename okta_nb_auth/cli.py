"""``okta-nb-auth``: the command line (``devserver``; more subcommands as they land)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="okta-nb-auth", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    devserver = commands.add_parser("devserver", help="run the Okta-compatible dev server")
    try:
        from .devserver._cli import add_arguments, run
    except ImportError as exc:  # the 'devserver' extra is not installed
        missing = exc.name or "starlette"
        print(
            f"okta-nb-auth: error: the dev server needs {missing}: "
            "pip install 'okta-nb-auth[devserver]'",
            file=sys.stderr,
        )
        return 2
    add_arguments(devserver)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
