"""Secrets that behave like ``str`` everywhere except where people or other processes look.

A :class:`Secret` is sent, compared and saved like the string it is, but its ``repr`` is
masked (so a traceback's locals under ``pytest --showlocals``, rich or Sentry, a debugger, or
the repr of a dict holding it never show it) and it refuses to be pickled (so it cannot leave
the process in a Dask task, a multiprocessing queue or a pickle file by accident).
:func:`refuse_pickle` gives the same refusal to the objects that hold secrets.
"""

from __future__ import annotations

import hashlib
from typing import Any, NoReturn

from ._exceptions import PicklingRefused

__all__ = ["SAFE_WAYS", "Secret", "digest", "mask", "refuse_pickle", "secret"]

_SHOWN = 6

#: What to do instead of pickling a login, named in every refusal.
SAFE_WAYS = (
    "To keep a login across kernel restarts or share it with other processes on this "
    "computer, use a token store (store='file'; AuthSession.from_store(config)); to give "
    "Dask workers API access, lend them access tokens with dask_auth = "
    "session.for_dask(client) (the refresh token stays in this process)."
)


def mask(secret: str | None) -> str | None:
    """Return a short, safe stand-in for a token or secret: its first 6 characters and a marker.

    Secrets shorter than 20 characters are masked completely.
    """
    if secret is None:
        return None
    if len(secret) < 20:
        return "[masked]"
    return f"{secret[:_SHOWN]}…[masked]"


def digest(token: str) -> str:
    """A short, irreversible fingerprint of a token (for comparing, never for showing)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]


def refuse_pickle(what: str) -> NoReturn:
    """Raise the refusal for pickling ``what`` (an object that holds a token or secret)."""
    raise PicklingRefused(f"{what} holds a token or secret and is never pickled. {SAFE_WAYS}")


class Secret(str):
    """A token or secret: a ``str`` to every API, masked in ``repr``, never pickled."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(mask(self))

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        refuse_pickle("This string")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: Any) -> Secret:
        return self


def secret(value: str | None) -> Secret | None:
    """``value`` as a :class:`Secret` (None stays None)."""
    if value is None or type(value) is Secret:
        return value
    return Secret(value)
