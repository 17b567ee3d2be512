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
        "--tls",
        action="store_true",
        help="serve https with a certificate from a throwaway CA made at start; its CA bundle's "
        "path is printed (trust it with SSL_CERT_FILE, OKTA_CA_BUNDLE or verify=)",
    )
    parser.add_argument(
        "--ca-dir",
        metavar="DIR",
        help="with --tls: write the CA bundle in DIR (default: a private temporary directory); "
        "it is removed at exit",
    )
    parser.add_argument(
        "--max-events",
        type=int,
        metavar="N",
        help="keep the newest N events in the event log (default 10000; older ones are dropped)",
    )
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
        "  apps (client IDs; secrets and keys via GET /admin/apps/NAME on loopback):",
    ]
    lines += [f"    {name:<11} {app.client_id}" for name, app in dev.apps.items()]
    lines.append("  test users:")
    lines += [f"    {user:<20} password: {dev.password(user)}" for user in dev.users]
    return "\n".join(lines + _tls_lines(dev.ca_bundle))


def _tls_lines(ca_bundle: str | None) -> list[str]:
    if ca_bundle is None:
        return []
    return [
        "  TLS: https, with a CA made for this run (a new one at every start). Its CA bundle:",
        f"    {ca_bundle}",
        "  Trust it as PATH (no 'insecure' switch needed):",
        "    okta-nb-auth: OktaConfig(..., ca_bundle=PATH) or OKTA_CA_BUNDLE=PATH",
        "    httpx, ssl, aiohttp, okta-jwt-verifier: SSL_CERT_FILE=PATH (then only it is trusted)",
        "    requests: REQUESTS_CA_BUNDLE=PATH; Node.js: NODE_EXTRA_CA_CERTS=PATH",
        "    in code: verify=ssl.create_default_context(cafile=PATH)",
        "  Browsers do not know this CA: they warn on the sign-in and activation pages.",
    ]


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
                tls=args.tls,
                ca_dir=args.ca_dir,
                max_events=args.max_events,
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
