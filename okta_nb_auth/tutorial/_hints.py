"""One-line hints for a learner's common slips in the tutorial notebooks (issue 9, "Bad input").

The set-up cell registers them with IPython (``set_custom_exc``), once per kernel:

* a connection refused (or timed out) by ``127.0.0.1`` or ``localhost``: the dev server there
  is not running, so re-run the first cell;
* a ``NameError`` in the notebook's own code: a cell above has not run yet.

Every other error, and these ones raised anywhere else, keep IPython's normal traceback.
``%tb`` still shows the full traceback of a hinted error.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

import httpx

__all__ = ["HANDLED", "hint", "install_hints"]

#: What the hints look at: IPython hands every other exception to its normal traceback.
HANDLED: tuple[type[BaseException], ...] = (httpx.ConnectError, httpx.ConnectTimeout, NameError)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _innermost_globals(tb: TracebackType | None) -> dict[str, Any] | None:
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_globals


def hint(value: BaseException, tb: TracebackType | None, user_ns: object) -> str | None:
    """The one line to show instead of ``value``'s traceback, or None for the traceback.

    ``user_ns``: the notebook's namespace; a ``NameError`` is hinted only when raised by code
    running in it (a cell, or a function a cell defined), not inside a library.
    """
    if isinstance(value, (httpx.ConnectError, httpx.ConnectTimeout)):
        try:
            url = value.request.url
        except RuntimeError:  # raised by hand, without a request
            return None
        if url.host not in _LOOPBACK:
            return None
        where = url.host if url.port is None else f"{url.host}:{url.port}"
        return (
            f"{type(value).__name__}: the dev server at {where} is not running (a kernel "
            "restart or tut.close() stops it): re-run the notebook's first cell (setup), then "
            "the cells from there to this one."
        )
    if type(value) is NameError:  # not UnboundLocalError: that is a bug in a function
        name = getattr(value, "name", None)
        if name and _innermost_globals(tb) is user_ns:
            return (
                f"NameError: {name!r} is not defined yet: run the cells above first "
                "(Run > Run All Above Selected Cell)."
            )
    return None


def _show(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None = None,
) -> None:
    """IPython's custom exception handler: the hint, or IPython's own traceback."""
    line = hint(value, tb, shell.user_global_ns)
    if line is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return
    # What showtraceback records, so %tb and %debug still reach the full traceback.
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    shell._showtraceback(etype, value, [line])  # the hook ipykernel sends error outputs by


def install_hints(shell: Any) -> bool:
    """Register the hints with an IPython ``shell`` (idempotent); True when they are active.

    A custom exception handler someone else registered is left alone (IPython has only one).
    """
    current = tuple(getattr(shell, "custom_exceptions", ()))
    if current == HANDLED:
        return True
    if current:
        return False
    shell.set_custom_exc(HANDLED, _show)
    return True


def current_shell() -> Any:
    """The running IPython shell, or None (IPython is not imported unless already loaded)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    return ipython.get_ipython()
