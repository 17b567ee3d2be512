"""The tutorial's timeline plot: access-token lifetimes, refreshes, rotations and errors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._models import TokenSet
    from ..devserver import Event

__all__ = ["LEGEND", "plot_timeline"]

_DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: Token grants that start a login (their token is the login's own), by what the plot says.
_LOGIN_GRANTS = {
    "authorization_code": "authorization-code grant",
    _DEVICE_GRANT: "device-code grant",
    "client_credentials": "client-credentials grant",
}
#: Device-flow polls before the user signs in: part of the login, not a failure.
_WAITING = ("authorization_pending", "slow_down")

#: The legend's words, by kind of mark (``login`` takes how the login got its token).
LEGEND = {
    "login": "the login's access token ({how})",
    "token": "access token from a refresh",
    "refresh": "refresh",
    "rotated": "refresh that rotated the refresh token",
    "error": "failed token call",
}
#: The legend's order, by kind of mark.
_ORDER = ("login", "token", "refresh", "rotated", "error")
_NOT_LOGGED = "not in the event log"
_COLOURS = {"login": "#f2b366", "token": "#8fb8de", "mark": "#1f5f99", "error": "#c0392b"}
_BAR_HEIGHT = 0.6


@dataclass(frozen=True)
class _Token:
    """One access token's lifetime on the server's clock, and how it was obtained."""

    start: float
    end: float
    kind: str  # login (how: label detail) or refresh / rotated
    how: str = ""


def _jwt_times(token: str) -> tuple[float, float] | None:
    """``iat`` and ``exp`` of a JWT access token, read without verification (a plot only)."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        return float(claims["iat"]), float(claims["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None


def _logged_tokens(rows: list[Event]) -> tuple[list[_Token], list[tuple[float, int]]]:
    """The tokens the event log shows, and the failed calls (time, index of the token then)."""
    tokens: list[_Token] = []
    errors: list[tuple[float, int]] = []
    for event in rows:
        if event.error is None and event.expires_at is not None:
            if event.grant_type in _LOGIN_GRANTS:
                how = _LOGIN_GRANTS[event.grant_type or ""]
                tokens.append(_Token(event.at, event.expires_at, "login", how))
            else:
                kind = "rotated" if event.detail == "rotated" else "refresh"
                tokens.append(_Token(event.at, event.expires_at, kind))
        elif event.error not in _WAITING:
            errors.append((event.at, len(tokens)))
    return tokens, errors


def _login_token(login: TokenSet, rows: list[Event]) -> _Token:
    """The bar of a login the event log does not show (``tut.login()`` makes no token call)."""
    times = _jwt_times(login.access_token)
    if times is None:  # an opaque token: its end is known, its start is not
        start = min([event.at for event in rows] or [login.expires_at])
        return _Token(start, login.expires_at, "login", f"{_NOT_LOGGED}, issue time unknown")
    return _Token(times[0], times[1], "login", _NOT_LOGGED)


def plot_timeline(
    events: Iterable[Event],
    ax: Any = None,
    title: str | None = None,
    *,
    login: TokenSet | None = None,
    origin: float | None = None,
) -> Any:
    """Draw access-token lifetimes, refreshes, rotations and errors from ``dev.events``.

    Each bar is one access token, from when it was issued to when it expires; the login's own
    token has a bar of its own colour. A login by the authorization-code or device-code grant
    is in the event log; one that made no token-endpoint call (``tut.login()`` on the dev
    server) is not: pass its tokens as ``login`` to draw it (from its ``iat`` and ``exp``).
    The device flow's polls while nobody has signed in yet are not errors. Returns the
    matplotlib Axes; times are seconds since the first token (the login's, when there is one),
    or since ``origin`` (epoch seconds, to line the plot up with another on the same clock).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows = [event for event in events if event.endpoint == "token"]
    tokens, errors = _logged_tokens(rows)
    if login is not None:
        tokens.insert(0, _login_token(login, rows))
        errors = [(at, index + 1) for at, index in errors]
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3.2), layout="constrained")
    if not tokens and not errors:
        ax.set_title("no token-endpoint calls yet")
        return ax
    first = min([t.start for t in tokens] + [at for at, _ in errors])
    origin = first if origin is None else origin
    legend: dict[str, tuple[Any, str]] = {}  # kind of mark: (an artist, its words)
    for row, token in enumerate(tokens, start=1):
        x = token.start - origin
        bar = "login" if token.kind == "login" else "token"
        drawn = ax.barh(
            row, token.end - token.start, left=x, height=_BAR_HEIGHT, color=_COLOURS[bar]
        )
        words = LEGEND["login"].format(how=token.how) if bar == "login" else LEGEND["token"]
        legend.setdefault(f"{bar}:{token.how}", (drawn, words))
        if token.kind != "login":
            marker = "D" if token.kind == "rotated" else "o"
            (line,) = ax.plot(x, row, marker, color=_COLOURS["mark"])
            legend.setdefault(token.kind, (line, LEGEND[token.kind]))
    for at, index in errors:
        (line,) = ax.plot(at - origin, max(index, 1), "x", color=_COLOURS["error"], ms=10, mew=2)
        legend.setdefault("error", (line, LEGEND["error"]))
    # Room around the data, so that a marker at the first or the last moment shows whole.
    end = max([t.end - origin for t in tokens] + [at - origin for at, _ in errors])
    pad = max(end, 1.0) * 0.03
    ax.set_xlim(min(first - origin, 0.0) - pad, end + pad)
    ax.set_ylim(1 - _BAR_HEIGHT - 0.1, max(len(tokens), 1) + _BAR_HEIGHT + 0.1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    earliest = min(tokens, key=lambda t: t.start, default=None)
    login_first = earliest is not None and earliest.kind == "login" and earliest.start == origin
    since = "the login" if login_first else "the first token call"
    ax.set_xlabel("seconds" if first != origin else f"seconds since {since}")
    ax.set_ylabel("access tokens")
    ax.set_title(title or "access tokens over time")
    ranked = sorted(legend, key=lambda kind: _ORDER.index(kind.split(":")[0]))
    ax.legend(
        [legend[kind][0] for kind in ranked],
        [legend[kind][1] for kind in ranked],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        frameon=False,
    )
    return ax
