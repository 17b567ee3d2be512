"""``okta-nb-auth login | status | logout``: the terminal twins of the login widget.

``login`` runs the device flow with the same flow code as the widget and keeps the login in
the token store, so a notebook started later is signed in with no flow. The link and the user
code are printed (a user code is not a secret: it only works together with the device code,
which stays in this process); tokens never are, only their masked form. ``status`` says who
is signed in where; ``logout`` revokes the tokens at Okta and deletes the stored entry.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from .._config import OktaConfig
from .._exceptions import ConfigError, LoginCancelled, LoginRequired, OktaAuthError
from .._session import AuthSession
from ..store._base import TokenStore
from ..store._select import resolve_store
from ._device import DeviceCode, PollStatus, device_login
from ._text import ago_text, clock_text

__all__ = ["add_arguments", "run", "run_logout", "run_status"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``login``, ``status`` and ``logout``; unset ones come from ``OKTA_*``."""
    parser.add_argument("--issuer", help="the issuer URL (default: $OKTA_ISSUER or $OKTA_DOMAIN)")
    parser.add_argument("--client-id", help="the native app's client id ($OKTA_CLIENT_ID)")
    parser.add_argument(
        "--scopes", help="space-separated scopes (default: openid email profile offline_access)"
    )
    parser.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="a PEM file of CAs to trust, such as the TLS dev server's ($OKTA_CA_BUNDLE)",
    )
    parser.add_argument(
        "--store",
        default="default",
        choices=("default", "file", "keyring", "none"),
        help="where the login is kept (default: $OKTA_NB_AUTH_STORE, else 'file')",
    )


def _config(args: argparse.Namespace) -> OktaConfig:
    overrides: dict[str, object] = {}
    if args.issuer:
        overrides["issuer"] = args.issuer
    if args.client_id:
        overrides["client_id"] = args.client_id
    if args.scopes:
        overrides["scopes"] = tuple(args.scopes.replace(",", " ").split())
    if args.ca_bundle:
        overrides["ca_bundle"] = args.ca_bundle
    return OktaConfig.from_env(None, **overrides)


def _fail(command: str, exc: BaseException, err: TextIO) -> int:
    if isinstance(exc, ConfigError):
        print(f"okta-nb-auth {command}: error: {exc}", file=err)
        return 2
    cancelled = isinstance(exc, (LoginCancelled, KeyboardInterrupt))
    print(f"okta-nb-auth {command}: {'cancelled' if cancelled else f'error: {exc}'}", file=err)
    return 130 if cancelled else 1


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
        store = resolve_store(args.store)
        result = device_login(config, on_code=show_code, on_poll=show_poll, store=store)
    except (OktaAuthError, KeyboardInterrupt) as exc:
        return _fail("login", exc, err)
    tokens = result.session.tokens
    result.session.close()
    print(f"Signed in as {result.user}.", file=out)
    if tokens is not None:
        print(f"Access token expires in {clock_text(tokens.expires_in())}.", file=out)
        print(f"Tokens (masked): {tokens!r}", file=out)
    if store is not None and result.session.okta_auth.stored is not None:
        print(f"Saved in the token store {store.location}: notebooks now sign in", file=out)
        print("from it with no login (login(), AuthSession.from_store(config)).", file=out)
    else:
        print("Not saved (no token store): this login ends with this command.", file=out)
    return 0


def _stored(args: argparse.Namespace) -> tuple[OktaConfig, TokenStore, AuthSession]:
    config = _config(args)
    store = resolve_store(args.store)
    if store is None:
        raise ConfigError("--store none keeps nothing, so there is no stored login to use.")
    return config, store, AuthSession.from_store(config, store=store)


def run_status(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Who is signed in, where, and until when; 0 when signed in, 1 when not. No secrets."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        config, store, session = _stored(args)
    except LoginRequired as exc:
        print(f"Not signed in. {exc}", file=out)
        return 1
    except OktaAuthError as exc:
        return _fail("status", exc, err)
    with session:
        lines = [*_who(session, config), f"Store: {store.location}"]
    print("\n".join(lines), file=out)
    return 0


def _who(session: AuthSession, config: OktaConfig) -> list[str]:
    auth, tokens, entry = session.okta_auth, session.tokens, session.okta_auth.stored
    user = (entry.user if entry is not None else None) or (auth.id_claims or {}).get("sub")
    lines = [
        f"Signed in as {user or 'an unknown user'}.",
        f"Issuer: {config.issuer}",
        f"App (client id): {config.client_id}",
    ]
    if tokens is not None:
        left = tokens.expires_in()
        state = f"expires in {clock_text(left)}" if left > 0 else "has expired"
        renew = "yes" if tokens.refresh_token else "no (a new login is needed when it expires)"
        lines += [
            f"Access token: {state} (scopes: {tokens.scope or '-'}).",
            f"Refresh token: {renew}.",
        ]
    if entry is not None:
        lines.append(f"Last refreshed: {ago_text(time.time() - entry.refreshed_at)}.")
    return lines


def run_logout(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Revoke the stored login at Okta and delete it; 0 when done, 1 when nothing or failed."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        _, store, session = _stored(args)
    except LoginRequired as exc:
        print(f"Not signed in, nothing to log out. {exc}", file=out)
        return 1
    except OktaAuthError as exc:
        return _fail("logout", exc, err)
    with session:
        try:
            session.logout()
        except OktaAuthError as exc:
            print(f"Deleted from {store.location}, but Okta could not revoke: {exc}", file=err)
            return 1
    print(
        f"Logged out: the tokens were revoked at Okta and deleted from {store.location}.", file=out
    )
    return 0
