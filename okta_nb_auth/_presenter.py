"""Who signed in, as people read it (:func:`describe_user`), and presenter mode: what a
projected screen must not show (e-mail addresses, people's names, device user codes).

On when ``OKTA_NB_AUTH_PRESENTER=1`` is in the environment or an explicit ``presenter=True``
says so. Pure functions, no I/O besides reading the environment in :func:`presenter_on`.
Tokens are not handled here: they are masked everywhere, presenter or not.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CODE_MASK",
    "NAME_CLAIMS",
    "PRESENTER_ENV",
    "UNKNOWN_USER",
    "describe_user",
    "mask_claim",
    "mask_email",
    "mask_name",
    "mask_user",
    "masked",
    "presenter_on",
]

#: Set to ``1`` to mask e-mail addresses, names and user codes in the notebooks, the login widget
#: and the dev server's pages.
PRESENTER_ENV = "OKTA_NB_AUTH_PRESENTER"
#: What a device user code looks like on a projected screen.
CODE_MASK = "••••••••"
#: Who signed in when the ID-token claims name nobody (no name, e-mail or subject).
UNKNOWN_USER = "unknown user"

_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’.-]*"
# Compiled on first use (see _pattern): a kernel that never masks a screen never pays for them.
_PATTERNS = {
    "email": r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b",
    # Okta's and the dev server's user codes: eight consonants (no vowels, so no words).
    "user_code": r"\b[BCDFGHJKLMNPQRSTVWXZ]{8}\b",
    "named": r"^(?P<name>.+?) <(?P<email>[^<>]+)>$",
    # "Ada Lovelace <ada@example.com>" inside a longer text: the capitalised words before <e-mail>.
    "named_in_text": rf"\b(?P<name>(?:{_WORD} +)*{_WORD}) <(?P<email>[^<>\s]+@[^<>\s]+)>",
}
#: ID-token claims that name a person (OIDC standard claims), masked by :func:`mask_claim`.
NAME_CLAIMS = ("name", "given_name", "family_name", "preferred_username", "email")


@functools.cache
def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(_PATTERNS[name])


def describe_user(claims: Mapping[str, Any]) -> str:
    """``Ada Lovelace <ada@example.com>`` from ID-token claims (never a token)."""
    name = claims.get("name")
    email = claims.get("email") or claims.get("preferred_username")
    if name and email and name != email:
        return f"{name} <{email}>"
    return str(name or email or claims.get("sub", UNKNOWN_USER))


def presenter_on(presenter: bool | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """``presenter`` when given, else whether ``OKTA_NB_AUTH_PRESENTER=1`` is set."""
    if presenter is not None:
        return presenter
    env = os.environ if environ is None else environ
    return env.get(PRESENTER_ENV, "").strip() == "1"


def masked(text: str, presenter: bool | None = None) -> str:
    """``text`` with e-mail addresses, names written ``Name <e-mail>`` and user codes hidden
    when presenter mode is on."""
    if not presenter_on(presenter):
        return text
    text = _pattern("named_in_text").sub(lambda m: mask_user(m.group(0)), text)
    text = _pattern("email").sub(lambda m: f"{m.group(1)}…@{m.group(2)}", text)
    return _pattern("user_code").sub(CODE_MASK, text)


def mask_email(email: str) -> str:
    """``a…@example.com``: the first character and the domain."""
    local, at, domain = email.partition("@")
    if not at:
        return mask_name(email)
    return f"{local[:1]}…@{domain}"


def mask_name(name: str) -> str:
    """``A… L…``: an initial per word, so the screen still reads as a person."""
    return " ".join(f"{word[:1]}…" for word in name.split()) or "…"


def mask_user(user: str) -> str:
    """``Ada Lovelace <ada@example.com>`` → ``A… L… <a…@example.com>``; a bare e-mail or name
    (the forms :func:`describe_user` gives) is masked alike."""
    match = _pattern("named").match(user.strip())
    if match:
        return f"{mask_name(match['name'])} <{mask_email(match['email'])}>"
    if "@" in user:
        return mask_email(user.strip())
    return mask_name(user)


def mask_claim(key: str, value: object) -> object:
    """A claim's value as a projected screen may show it: the :data:`NAME_CLAIMS` masked like
    the login widget masks who signed in, every other claim as it is."""
    if key in NAME_CLAIMS and isinstance(value, str):
        return mask_email(value) if "@" in value else mask_name(value)
    return value
