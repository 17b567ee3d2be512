"""The event log: every OAuth-endpoint call, the newest ``max_events`` of them.

A dev server that runs for days (a kernel left open, a classroom server) must not grow with
every call, so the log keeps a bounded window and drops the oldest event first. Readers see the
drop: a cursor (``since``) counts every event recorded since the last clear, dropped or not, so
it stays valid; a read whose cursor points at dropped events starts with one ``events_dropped``
marker whose ``dropped`` says how many of the events it asked for are gone.
"""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import dataclass
from itertools import islice

__all__ = ["DEFAULT_MAX_EVENTS", "DROPPED", "Event", "EventLog"]

DEFAULT_MAX_EVENTS = 10_000
DROPPED = "events_dropped"  # the marker's ``endpoint``
MAX_SHARED = 64  # longer grant types (junk a client sent) are not interned


@dataclass(frozen=True, slots=True)  # slots: 10,000 of them are kept
class Event:
    """One call to an OAuth endpoint and its outcome (``error`` is None on success).

    ``endpoint`` is ``token``, ``device_authorize``, ``par``, ``introspect``, ``revoke``,
    ``discovery`` (any ``.well-known`` document) or ``keys`` (a key set), or ``events_dropped``
    for the marker that stands for events the bounded log no longer holds (``dropped`` says how
    many; ``at`` is when the newest of them was dropped). ``auth_method`` is the
    client authentication the call used (``client_secret_basic``, ``client_secret_post``,
    ``none``, ``private_key_jwt``, ``client_secret_jwt``); ``auth_mismatch`` is
    ``invalid_token_endpoint_auth_method`` (Okta's System Log reason) when that is not the
    app's method, whether accepted or refused.
    ``detail`` says what else happened (``rotated``, ``reuse_detected_family_revoked``, ...),
    or ``invalid_token_endpoint_auth_method`` when the method is why the call was refused, or
    Okta's code for a refused client assertion (``client_assertion_already_used``, ...).
    """

    at: float
    endpoint: str
    grant_type: str | None
    client_id: str | None
    app: str | None
    status: int
    error: str | None
    user: str | None = None
    detail: str | None = None
    expires_at: float | None = None
    auth_method: str | None = None
    auth_mismatch: str | None = None
    dropped: int | None = None

    def __post_init__(self) -> None:
        # Each form parse makes its own copy of "refresh_token": one shared string instead,
        # since the log holds thousands of events.
        if self.grant_type is not None and len(self.grant_type) <= MAX_SHARED:
            object.__setattr__(self, "grant_type", sys.intern(self.grant_type))


class EventLog:
    """The newest ``limit`` events, and how many older ones were dropped since the last clear.

    Not thread-safe on its own: the store calls it under its lock.
    """

    def __init__(self, limit: int = DEFAULT_MAX_EVENTS) -> None:
        self.limit = limit
        self._events: deque[Event] = deque(maxlen=limit)
        self.dropped = 0  # events dropped since the last clear: the first held event's index
        self._dropped_at = 0.0

    def append(self, event: Event) -> None:
        if len(self._events) == self.limit:
            self.dropped += 1
            self._dropped_at = event.at
        self._events.append(event)  # the deque drops its oldest itself

    @property
    def recorded(self) -> int:
        """Events recorded since the last clear, held or dropped: the next event's cursor."""
        return self.dropped + len(self._events)

    def since(self, cursor: int = 0) -> list[Event]:
        """The events from ``cursor`` on, led by a marker if some of them were dropped."""
        if cursor < 0:  # as a list slice: the last -cursor events
            cursor = max(self.recorded + cursor, 0)
        wanted = self.recorded - cursor
        if wanted <= 0:
            return []
        if cursor >= self.dropped:  # read from the newest end: costs what it returns
            newest = list(islice(reversed(self._events), wanted))
            newest.reverse()
            return newest
        return [self._marker(self.dropped - cursor), *self._events]

    def _marker(self, count: int) -> Event:
        return Event(
            at=self._dropped_at,
            endpoint=DROPPED,
            grant_type=None,
            client_id=None,
            app=None,
            status=0,
            error=None,
            detail=f"{count} older events dropped (the log keeps the newest {self.limit})",
            dropped=count,
        )

    def clear(self) -> None:
        self._events.clear()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._events)

    def __repr__(self) -> str:
        return (
            f"EventLog(limit={self.limit}, dropped={self.dropped}, events={list(self._events)!r})"
        )
