"""Notebook 10's helpers (okta_nb_auth.tutorial._dask): the task on a real LocalCluster, the
report's checks of the event log, and the plot."""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import jwt
import pytest

from okta_nb_auth import AuthSession, TokenSet
from okta_nb_auth.devserver import DevServer, Event
from okta_nb_auth.tutorial import fan_out_report, fetch, plot_fan_out, plot_timeline
from okta_nb_auth.tutorial._dask import Request

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "10_dask.ipynb"
KEY = "a test key of at least thirty-two bytes"


def call(at: float, expires_at: float | None = None, error: str | None = None) -> Event:
    """A token-endpoint call in the event log: its token lives ``expires_at - at`` seconds."""
    status = 400 if error else 200
    return Event(
        at, "token", "refresh_token", "0oa", "native", status, error, None, None, expires_at
    )


def requests(*times: float, worker: str = "0", status: int | None = 200) -> list[Request]:
    return [Request(n, at, status, worker) for n, at in enumerate(times)]


def login_tokens(iat: int, exp: int, expires_at: float) -> TokenSet:
    return TokenSet(jwt.encode({"iat": iat, "exp": exp}, KEY, algorithm="HS256"), expires_at)


# -- the report ------------------------------------------------------------------------------


def test_calls_each_once_the_token_was_due_are_one_per_expiry() -> None:
    # 2-second tokens, due 1 s before expiry (half the lifetime): calls at 1.0, 2.0, 3.1.
    events = [call(1.0, 3.0), call(2.0, 4.0), call(3.1, 5.1)]
    report = fan_out_report(
        requests(0.5, 1.0, 2.5) + requests(0.6, worker="1"),
        events,
        login=login_tokens(100, 102, 2.0),
    )
    assert (report.requests, report.answered, report.workers) == (4, 4, 2)
    assert (report.token_calls, report.early_calls, report.failed_calls) == (3, 0, 0)
    assert report.one_per_expiry
    assert str(report) == (
        "requests: 4 from 2 workers, 4 answered 200, 0 failed\n"
        "token-endpoint calls: 3, one per access-token expiry (none before the token was due), "
        "0 failed"
    )


def test_a_call_before_the_token_was_due_is_counted_and_said() -> None:
    # The second call came 0.5 s after the first: its token was due only at 2.0.
    report = fan_out_report(requests(0.1), [call(1.0, 3.0), call(1.5, 3.5)])
    assert report.early_calls == 1 and not report.one_per_expiry
    assert "1 of them before the token was due" in str(report)


def test_the_logins_token_is_checked_too() -> None:
    login = login_tokens(100, 102, 10.0)  # due at 9.0 (half of its 2-second lifetime)
    assert fan_out_report([], [call(8.5, 10.5)], login=login).early_calls == 1
    assert fan_out_report([], [call(9.0, 11.0)], login=login).early_calls == 0
    assert fan_out_report([], [call(8.5, 10.5)]).early_calls == 0  # no login: not checked
    # A leeway shorter than half the lifetime moves the due time: 10.0 - 0.25.
    assert fan_out_report([], [call(9.5, 11.5)], login=login, leeway=0.25).early_calls == 1


def test_failed_calls_and_requests_are_counted() -> None:
    report = fan_out_report(
        requests(0.1) + requests(0.2, status=None) + requests(0.3, status=401),
        [call(1.0, 3.0), call(2.0, error="invalid_grant")],
    )
    assert (report.answered, report.failed_calls) == (1, 1) and not report.one_per_expiry
    assert "1 answered 200, 2 failed" in str(report) and ", 1 failed" in str(report)


# -- the plot --------------------------------------------------------------------------------


@pytest.fixture
def plt() -> Iterator[Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


def test_the_plot_lines_up_tokens_and_requests(plt: Any) -> None:
    events = [call(101.0, 103.0), call(102.0, 104.0), call(103.5, error="invalid_grant")]
    done = requests(100.2, 100.5, 101.9) + requests(100.3, worker="1")
    tokens, load = plot_fan_out(done, events)
    assert tokens.get_shared_x_axes().joined(tokens, load)
    assert load.get_title() == "4 requests from the workers, 3 token-endpoint calls"
    lines = [line for line in load.get_lines() if line.get_linestyle() == "--"]
    assert sorted(round(line.get_xdata()[0], 6) for line in lines) == [0.8, 1.8, 3.3]
    assert lines[-1].get_color() != lines[0].get_color()  # the failed call stands out
    legend = [text.get_text() for text in load.get_legend().get_texts()]
    assert legend == ["worker 0", "worker 1", "token call", "failed token call"]
    assert sum(patch.get_height() for patch in load.patches) == 4  # every request, once
    assert tokens.get_xlim()[0] < 0 < tokens.get_xlim()[1]  # from the first request on


def test_plot_timeline_takes_an_origin(plt: Any) -> None:
    ax = plot_timeline([call(101.0, 103.0)], origin=100.0)
    bar = ax.patches[0]
    assert bar.get_x() == pytest.approx(1.0) and bar.get_width() == pytest.approx(2.0)
    assert ax.get_xlabel() == "seconds"  # not "since the first token call": it is not 0
    assert plot_timeline([call(101.0, 103.0)]).get_xlabel() == "seconds since the first token call"


def test_no_requests_to_plot_says_so(plt: Any) -> None:
    with pytest.raises(ValueError, match="run the fan-out first"):
        plot_fan_out([], [])


# -- the task, on a real cluster -------------------------------------------------------------


@pytest.mark.slow
def test_the_task_runs_on_workers_and_reports_a_logout(fresh_dev: DevServer) -> None:
    distributed = pytest.importorskip("distributed")
    fresh_dev.configure_app("native", rotation="ROTATE", grace_period=0, access_token_ttl=2)
    tokens = fresh_dev.login_as("ada@example.com", "native")
    url = fresh_dev.api_url + "/whoami"
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
        AuthSession(fresh_dev.config("native"), tokens) as session,
    ):
        auth = session.for_dask(client)
        fresh_dev.clear_events()
        batches = client.gather(client.map(fetch, range(4), auth=auth, url=url, calls=3))
        done = [request for batch in batches for request in batch]
        report = fan_out_report(done, fresh_dev.events, login=tokens)
        assert (report.requests, report.answered, report.failed_calls) == (12, 12, 0)
        assert {r.item for r in done} == {0, 1, 2, 3}
        assert {r.worker for r in done} <= {"0", "1"}
        assert all(a.started <= b.started for a, b in pairwise(done) if a.item == b.item)
        session.logout()
        (after,) = client.gather([client.submit(fetch, 9, auth=auth, url=url, calls=1)])
    assert [(r.status, r.error) for r in after] == [(None, "LoginRequired")]


# -- the notebook ----------------------------------------------------------------------------


def test_the_notebook_shows_the_tasks_real_code() -> None:
    """The notebook's listing of ``fetch`` (without its type hints) is its code."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    listing = re.search(r"```python\n(def fetch.*?)```", text, re.S)
    assert listing is not None
    source = inspect.getsource(fetch)
    body = [line.split("  #")[0].strip() for line in listing.group(1).splitlines()[1:]]
    assert body and all(line in source for line in body if line), body
