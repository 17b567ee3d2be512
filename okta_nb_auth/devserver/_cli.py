"""The dev server's command line: prints exactly ``READY <issuer>`` on stdout once listening."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings

from ._server import DevServer, DevServerError
from ._settings import SettingsError

__all__ = ["add_arguments", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--config", metavar="FILE", help="TOML file with apps and users")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (a classroom network); prints a warning",
    )
    parser.add_argument(
        "--public-url", metavar="URL", help="base URL learners use (with --allow-remote)"
    )
    parser.add_argument("--auto-approve", metavar="USER", help="approve every device login as USER")
    parser.add_argument(
        "--presenter",
        action="store_true",
        help="mask e-mail addresses and user codes on the pages (a projected screen); "
        "also on with OKTA_NB_AUTH_PRESENTER=1",
    )


def _describe(dev: DevServer) -> str:
    lines = [
        f"okta-nb-auth dev server at {dev.base_url}",
        f"  custom authorization server (issuer): {dev.issuer}",
        f"  org authorization server (issuer):    {dev.org_issuer}",
        "  apps (client IDs; secrets via GET /admin/apps/NAME on loopback):",
    ]
    lines += [f"    {name:<11} {app.client_id}" for name, app in dev.apps.items()]
    lines.append("  test users:")
    lines += [f"    {user:<20} password: {dev.password(user)}" for user in dev.users]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dev = DevServer(
                args.port,
                host=args.host,
                config=args.config,
                auto_approve=args.auto_approve,
                allow_remote=args.allow_remote,
                public_url=args.public_url,
                presenter=True if args.presenter else None,
            )
        for warning in caught:
            print(f"warning: {warning.message}", file=sys.stderr)
        dev.start()
    except (DevServerError, SettingsError) as exc:
        print(f"okta-nb-auth devserver: error: {exc}", file=sys.stderr)
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(_describe(dev), file=sys.stderr, flush=True)
    print(f"READY {dev.issuer}", flush=True)
    try:
        while not stop.wait(0.5):
            if not dev.running:
                print("okta-nb-auth devserver: error: the server stopped", file=sys.stderr)
                return 1
    finally:
        dev.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="okta-nb-auth devserver", description="Run the Okta-compatible dev server."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
