"""The bounded event log: the newest ``max_events`` kept, the drop shown by a marker and a
counter, ``since`` cursors that stay valid across drops; the bound from the constructor, the
settings file and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import pytest
from devserver_helpers import DEFAULT, client

from okta_nb_auth.devserver import DevServer, Event, SettingsError

BIN = Path(sys.executable).parent / "okta-nb-auth"
LIMIT = 5


@pytest.fixture
def small() -> Iterator[tuple[DevServer, httpx.Client]]:
    """A server whose log keeps 5 events."""
    with DevServer(port=0, max_events=LIMIT) as dev, client(dev) as http:
        yield dev, http


def calls(http: httpx.Client, first: int, count: int) -> None:
    """``count`` token calls whose events say which they were: grant types g<first>, ..."""
    for number in range(first, first + count):
        response = http.post(f"{DEFAULT}/token", data={"grant_type": f"g{number}"})
        assert response.status_code == 401  # no client: invalid_client, still an event


def grant_types(events: list[Event] | list[dict[str, Any]]) -> list[str | None]:
    rows = [e if isinstance(e, dict) else asdict(e) for e in events]
    return [row["grant_type"] for row in rows if row["endpoint"] != "events_dropped"]


def admin_events(http: httpx.Client, since: int) -> list[dict[str, Any]]:
    response = http.get("/admin/events", params={"since": since})
    assert response.status_code == 200
    body: list[dict[str, Any]] = response.json()
    return body


def test_the_default_bound_is_ten_thousand(dev: DevServer) -> None:
    assert dev.max_events == 10_000


def test_the_oldest_events_are_dropped_and_a_marker_says_how_many(
    small: tuple[DevServer, httpx.Client],
) -> None:
    dev, http = small
    calls(http, 0, 4)
    assert dev.events_dropped == 0
    assert grant_types(dev.events) == ["g0", "g1", "g2", "g3"]
    calls(http, 4, 4)
    marker, *kept = dev.events
    assert grant_types(kept) == ["g3", "g4", "g5", "g6", "g7"]
    assert (marker.endpoint, marker.dropped, marker.status) == ("events_dropped", 3, 0)
    assert marker.detail is not None and "3 older events dropped" in marker.detail
    assert marker.at == kept[-1].at  # when the newest of them was dropped
    assert dev.events_dropped == 3
    assert all(event.dropped is None for event in kept)


def test_since_cursors_stay_valid_across_drops(small: tuple[DevServer, httpx.Client]) -> None:
    dev, http = small
    calls(http, 0, 8)  # cursors 0..7; 0, 1, 2 dropped
    assert grant_types(admin_events(http, 6)) == ["g6", "g7"]
    assert grant_types(admin_events(http, 3)) == ["g3", "g4", "g5", "g6", "g7"]
    assert admin_events(http, 8) == [] and admin_events(http, 99) == []
    behind = admin_events(http, 1)
    assert behind[0]["endpoint"] == "events_dropped" and behind[0]["dropped"] == 2
    assert grant_types(behind) == ["g3", "g4", "g5", "g6", "g7"]
    assert admin_events(http, 0) == [asdict(event) for event in dev.events]
    count = http.get("/admin/events/count").json()
    assert count == {"recorded": 8, "dropped": 3, "max_events": LIMIT}


def test_a_reader_following_its_cursor_accounts_for_every_event(
    small: tuple[DevServer, httpx.Client],
) -> None:
    """Read, then move the cursor by what was read (a marker counts as its ``dropped``)."""
    _, http = small
    cursor, seen, missed = 0, [], 0
    for first, count in [(0, 2), (2, 7), (9, 1), (10, 12), (22, 3)]:
        calls(http, first, count)
        batch = admin_events(http, cursor)
        markers = [row["dropped"] for row in batch if row["endpoint"] == "events_dropped"]
        assert len(markers) <= 1 and all(row["dropped"] is None for row in batch[len(markers) :])
        missed += sum(markers)
        seen += grant_types(batch)
        cursor += sum(markers) + len(batch) - len(markers)
    assert cursor == 25 == missed + len(seen)
    assert seen == [f"g{n}" for n in range(25) if f"g{n}" in seen]  # in order, no repeats
    assert seen[-3:] == ["g22", "g23", "g24"]


def test_clear_restarts_cursors_and_the_counter(small: tuple[DevServer, httpx.Client]) -> None:
    dev, http = small
    calls(http, 0, 7)
    assert http.post("/admin/events/clear", json={}).json() == {"ok": True}
    assert dev.events == [] and dev.events_dropped == 0
    calls(http, 100, 2)
    assert grant_types(admin_events(http, 0)) == ["g100", "g101"]
    assert grant_types(admin_events(http, 1)) == ["g101"]
    assert grant_types(admin_events(http, -1)) == ["g101"]  # a negative cursor, as a slice


def test_the_bound_comes_from_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "dev.toml"
    path.write_text("[server]\nmax_events = 3\n")
    with DevServer(port=0, config=path) as dev, client(dev) as http:
        assert dev.max_events == 3
        calls(http, 0, 4)
        assert dev.events_dropped == 1
        assert grant_types(dev.events) == ["g1", "g2", "g3"]
    with DevServer(port=0, config=path, max_events=7) as dev:
        assert dev.max_events == 7  # the argument wins over the file


@pytest.mark.parametrize("bad", [0, -1, True, "100", 2.5])
def test_a_bad_bound_is_a_clear_settings_error(bad: object) -> None:
    with pytest.raises(SettingsError, match=r"\[server\] max_events must be a whole number"):
        DevServer(port=0, config={"server": {"max_events": bad}})
    with pytest.raises(SettingsError, match="max_events"):
        DevServer(port=0, max_events=bad)  # type: ignore[arg-type]


def test_the_command_line_flag_sets_the_bound() -> None:
    proc = subprocess.Popen(
        [str(BIN), "devserver", "--port", "0", "--max-events", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY "), line
        base = line.split()[1].removesuffix("/oauth2/default")
        with httpx.Client(base_url=base, timeout=10) as http:
            calls(http, 0, 3)
            assert http.get("/admin/events/count").json() == {
                "recorded": 3,
                "dropped": 1,
                "max_events": 2,
            }
            assert grant_types(admin_events(http, 0)) == ["g1", "g2"]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_a_bad_command_line_bound_is_one_clear_line() -> None:
    result = subprocess.run(
        [str(BIN), "devserver", "--port", "0", "--max-events", "0"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2
    assert "max_events must be a whole number of events, 1 or more" in result.stderr
    assert "Traceback" not in result.stderr
