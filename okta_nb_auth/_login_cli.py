"""``okta-nb-auth login``: the device flow in a terminal, with the same flow code as the widget.

The link and the user code are printed (a user code is not a secret: it only works together
with the device code, which stays in this process); tokens never are, only their masked form.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from ._config import OktaConfig
from ._exceptions import ConfigError, LoginCancelled, OktaAuthError
from ._flows import DeviceCode, PollStatus, device_login
from ._login_text import clock_text

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``login`` subcommand's options; unset ones come from the ``OKTA_*`` variables."""
    parser.add_argument("--issuer", help="the issuer URL (default: $OKTA_ISSUER or $OKTA_DOMAIN)")
    parser.add_argument("--client-id", help="the native app's client id ($OKTA_CLIENT_ID)")
    parser.add_argument(
        "--scopes", help="space-separated scopes (default: openid email profile offline_access)"
    )


def _config(args: argparse.Namespace) -> OktaConfig:
    overrides: dict[str, object] = {}
    if args.issuer:
        overrides["issuer"] = args.issuer
    if args.client_id:
        overrides["client_id"] = args.client_id
    if args.scopes:
        overrides["scopes"] = tuple(args.scopes.replace(",", " ").split())
    return OktaConfig.from_env(None, **overrides)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Sign in with the device flow; 0 when signed in, 1 on a login error, 2 on bad settings."""
    out, err = out or sys.stdout, err or sys.stderr

    def show_code(code: DeviceCode) -> None:
        print(f"To sign in, open {code.link}", file=out)
        print(f"and check that the page shows the code {code.user_code}.", file=out)
        print(
            f"Waiting (the code is valid for {clock_text(code.expires_in)}; Ctrl-C stops)…",
            file=out,
        )
        out.flush()

    def show_poll(status: PollStatus) -> None:
        if status.state != "pending":
            print(f"  ({status.state}: next try in {status.interval:.0f} s)", file=out)

    try:
        config = _config(args)
        result = device_login(config, on_code=show_code, on_poll=show_poll)
    except ConfigError as exc:
        print(f"okta-nb-auth login: error: {exc}", file=err)
        return 2
    except (OktaAuthError, KeyboardInterrupt) as exc:
        cancelled = isinstance(exc, (LoginCancelled, KeyboardInterrupt))
        print(f"okta-nb-auth login: {'cancelled' if cancelled else f'error: {exc}'}", file=err)
        return 130 if cancelled else 1
    tokens = result.session.tokens
    result.session.close()
    print(f"Signed in as {result.user}.", file=out)
    if tokens is not None:
        print(f"Access token expires in {clock_text(tokens.expires_in())}.", file=out)
        print(f"Tokens (masked): {tokens!r}", file=out)
    return 0
