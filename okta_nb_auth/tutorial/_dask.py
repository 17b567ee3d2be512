"""Notebook 10 (Dask): the task its workers run, what the run shows, and its plot.

The task lives here, in an installed package, so that every worker process imports it by
name. It returns a :class:`Request` (plain data: when it started, what the API answered, on
which worker); :func:`fan_out_report` checks those against the dev server's event log, and
:func:`plot_fan_out` draws them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from .._exceptions import OktaAuthError
from ._plot import _COLOURS, _jwt_times, plot_timeline

if TYPE_CHECKING:
    from .._models import TokenSet
    from ..devserver import Event

__all__ = ["FanOut", "Request", "fan_out_report", "fetch", "plot_fan_out"]

#: Seconds a token call may come before the previous token was due and still count as on time
#: (the server's and the workers' clocks are one clock here; this is rounding).
_TOLERANCE = 0.05
_BIN = 0.1  # seconds per bar of the requests' histogram
_WORKER_COLOURS = ("#7f8c8d", "#c8cfd3", "#4d5656", "#e5e8e8")


@dataclass(frozen=True)
class Request:
    """One task's request: when it started (epoch seconds), the HTTP status (None: the
    borrowed auth raised ``error`` instead), and the Dask worker that ran it."""

    item: int
    started: float
    status: int | None
    worker: str
    error: str | None = None


def _worker_name() -> str:
    from distributed import get_worker

    return str(get_worker().name)


def _get(http: httpx.Client, url: str, item: int, worker: str) -> Request:
    started = time.time()
    try:
        return Request(item, started, http.get(url).status_code, worker)
    except OktaAuthError as exc:  # LoginRequired, TransientError: typed, never a hang
        return Request(item, started, None, worker, type(exc).__name__)


def fetch(
    item: int, auth: httpx.Auth, url: str, calls: int = 10, work: float = 0.04
) -> list[Request]:
    """A Dask task: ``calls`` GETs of ``url`` signed by ``auth`` (the notebook's
    ``dask_auth``), each followed by ``work`` seconds of the task's own work."""
    worker, done = _worker_name(), []
    with httpx.Client(auth=auth, timeout=20) as http:
        for _ in range(calls):
            done.append(_get(http, url, item, worker))
            time.sleep(work)
    return done


@dataclass(frozen=True)
class FanOut:
    """What a fan-out did: its requests, and the token-endpoint calls the event log shows."""

    requests: int
    answered: int  # with HTTP 200
    workers: int
    token_calls: int
    failed_calls: int
    early_calls: int  # made before the token they replaced was due

    @property
    def one_per_expiry(self) -> bool:
        return self.early_calls == 0 and self.failed_calls == 0

    def __str__(self) -> str:
        failed = self.requests - self.answered
        if self.one_per_expiry:
            verdict = "one per access-token expiry (none before the token was due)"
        else:
            verdict = f"{self.early_calls} of them before the token was due"
        return (
            f"requests: {self.requests} from {self.workers} workers, {self.answered} answered "
            f"200, {failed} failed\n"
            f"token-endpoint calls: {self.token_calls}, {verdict}, {self.failed_calls} failed"
        )


def _early(calls: Sequence[Event], first_due: float | None, leeway: float) -> int:
    """Calls made before the token they replaced was due (``expires_at`` minus the
    borrowers' margin: ``leeway``, capped at half the token's lifetime)."""
    early = 0
    due = first_due
    for call in calls:
        if due is not None and call.at < due - _TOLERANCE:
            early += 1
        if call.error is None and call.expires_at is not None:
            due = call.expires_at - min(leeway, (call.expires_at - call.at) / 2)
    return early


def _due(login: TokenSet | None, leeway: float) -> float | None:
    """When the login's access token came due for the borrowers (from its ``iat``/``exp``)."""
    times = None if login is None else _jwt_times(login.access_token)
    if login is None or times is None:
        return None
    return login.expires_at - min(leeway, (times[1] - times[0]) / 2)


def fan_out_report(
    requests: Iterable[Request],
    events: Iterable[Event],
    *,
    login: TokenSet | None = None,
    leeway: float = 60.0,
) -> FanOut:
    """Check ``requests`` against the dev server's ``events`` (cleared just before the run):
    every token-endpoint call should come once the token it replaces is due, and none fail.
    ``login``: the tokens the session started with (None: the first call is not checked);
    ``leeway``: the one given to ``session.for_dask`` (default 60 s)."""
    done = list(requests)
    calls = sorted((e for e in events if e.endpoint == "token"), key=lambda e: e.at)
    return FanOut(
        requests=len(done),
        answered=sum(r.status == 200 for r in done),
        workers=len({r.worker for r in done}),
        token_calls=len(calls),
        failed_calls=sum(c.error is not None for c in calls),
        early_calls=_early(calls, _due(login, leeway), leeway),
    )


def _requests_axes(ax: Any, done: list[Request], calls: list[Event], origin: float) -> None:
    """Requests per ``_BIN`` seconds, stacked by worker, and a line at each token call."""
    import numpy as np

    workers = sorted({r.worker for r in done})
    times = [[r.started - origin for r in done if r.worker == w] for w in workers]
    end = max(r.started for r in done) - origin
    bins = np.arange(0.0, end + 2 * _BIN, _BIN)
    colours = [_WORKER_COLOURS[n % len(_WORKER_COLOURS)] for n in range(len(workers))]
    labels = [f"worker {w}" for w in workers]
    ax.hist(times, bins=bins, stacked=True, color=colours, label=labels)
    labelled: set[str] = set()
    for call in calls:
        label = "failed token call" if call.error else "token call"
        colour = _COLOURS["error"] if call.error else _COLOURS["mark"]
        shown = "" if label in labelled else label
        ax.axvline(call.at - origin, color=colour, ls="--", label=shown)
        labelled.add(label)
    ax.set_ylabel(f"requests per {_BIN:g} s")
    ax.set_xlabel("seconds since the first request")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)


def plot_fan_out(requests: Iterable[Request], events: Iterable[Event]) -> Any:
    """Two panels on one time axis: above, the access tokens the notebook got (from the
    event log, as :func:`plot_timeline` draws them); below, the workers' requests and the
    token calls. Returns the two matplotlib Axes."""
    import matplotlib.pyplot as plt

    done = sorted(requests, key=lambda r: r.started)
    if not done:
        raise ValueError("no requests to plot: run the fan-out first")
    logged = list(events)
    calls = [e for e in logged if e.endpoint == "token"]
    origin = min([done[0].started] + [c.at for c in calls])
    _, (tokens, load) = plt.subplots(
        2, 1, sharex=True, figsize=(10, 5.2), layout="constrained", height_ratios=(1, 1.2)
    )
    plot_timeline(logged, ax=tokens, origin=origin, title="access tokens from the notebook")
    tokens.set_xlabel("")
    _requests_axes(load, done, calls, origin)
    load.set_title(f"{len(done)} requests from the workers, {len(calls)} token-endpoint calls")
    load.set_xlim(left=-0.1)
    return tokens, load
