"""Pruning: the dev server forgets what has expired, a little at each write.

Every record kept with a lifetime (access and refresh tokens, authorization codes, device codes,
token families) goes on a min-heap under the server-clock time at which it dies, plus
:data:`RETAIN`. Each write pops at most :data:`SWEEP_BATCH` entries that are due and checks each
record against the *current* state: a dead one is removed, one whose life was extended (a
refresh token used again, an app given a longer idle window, the clock set back) goes back on
the heap under its new time. A write costs O(log n) and a bounded amount of pruning, never a
scan; each record is pruned once. The clock is the store's (admin time travel moves it).

What counts as dead is what the token endpoint already refuses, so a pruned record gets the
answer an expired or unknown one gets (``invalid_grant``, ``active: false``):

* an access token after its ``exp``;
* a refresh token once its idle window or its family's absolute lifetime has passed, or its
  family is revoked. A rotated-out token is kept until then: presenting it after the grace
  period is reuse, which revokes the family; past the idle window it is refused as idle anyway;
* an authorization code or a device code after its ``expires_at``;
* a family (grant) when it is revoked or has no tokens left.

Families are indexed (grant id -> its access and refresh tokens), so revoking one touches only
its own tokens.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from ._records import AccessRecord, CodeRecord, DeviceRecord, Grant, RefreshRecord

if TYPE_CHECKING:
    from ._state import Store

__all__ = ["GRANT", "RETAIN", "SWEEP_BATCH", "Family", "Sweeper", "Table"]

#: Seconds of server time a dead record is kept before it may be pruned, so a call just after
#: the end still gets its specific answer (``expired_token``, ``idle_expired`` in the log).
RETAIN = 300.0
#: At most this many due heap entries are looked at per write: a clock jump over many
#: expired records is pruned over the following writes, not in one long pause.
SWEEP_BATCH = 64
#: Dropped heap entries (records removed another way) are compacted away beyond this slack.
COMPACT_SLACK = 4096

ACCESS, REFRESH, CODE, DEVICE, GRANT = "access", "refresh", "code", "device", "grant"

R = TypeVar("R")


class Table(dict[str, R]):
    """A dict that tells the sweeper about every record put in it."""

    def __init__(self, on_set: Callable[[str, R], None]) -> None:
        super().__init__()
        self._on_set = on_set

    def __setitem__(self, key: str, value: R) -> None:
        super().__setitem__(key, value)
        self._on_set(key, value)


@dataclass
class Family:
    """The tokens of one grant: access token ``jti``s and refresh token values."""

    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.access or self.refresh)


class Sweeper:
    """The due-heap of one :class:`Store`, fed by its tables, pruning as writes come in."""

    def __init__(self, store: Store, idle: Callable[[str], float]) -> None:
        self.store = store
        self.idle = idle  # an app's refresh-token idle window, by app name (it may change)
        self._due: list[tuple[float, str, str]] = []
        self.pruned = 0  # records removed so far

    # -- fed by the tables (under the store's lock) ----------------------------------------

    def grant_added(self, grant_id: str, grant: Grant) -> None:
        self.store.families.setdefault(grant_id, Family())
        self.schedule(GRANT, grant_id)  # one without tokens by then is pruned

    def refresh_added(self, token: str, record: RefreshRecord) -> None:
        self.store.families.setdefault(record.grant_id, Family()).refresh.add(token)
        self._push(self._refresh_dies(record), REFRESH, token)

    def access_added(self, jti: str, record: AccessRecord) -> None:
        if record.grant_id is not None:
            self.store.families.setdefault(record.grant_id, Family()).access.add(jti)
            grant = self.store.grants.get(record.grant_id)
            if grant is None or grant.revoked:  # minted as its family was revoked (a race)
                record.revoked = True
        self._push(record.exp, ACCESS, jti)

    def code_added(self, code: str, record: CodeRecord) -> None:
        self._push(record.expires_at, CODE, code)

    def device_added(self, device_code: str, record: DeviceRecord) -> None:
        self._push(record.expires_at, DEVICE, device_code)

    def schedule(self, kind: str, key: str) -> None:
        """Look at ``key`` again once :data:`RETAIN` has passed from now."""
        self._push(self.store.clock(), kind, key)

    def _push(self, dies_at: float, kind: str, key: str) -> None:
        heapq.heappush(self._due, (dies_at + RETAIN, kind, key))
        self.sweep()

    # -- pruning ---------------------------------------------------------------------------

    def sweep(self, limit: int = SWEEP_BATCH) -> None:
        """Prune up to ``limit`` due records (fewer if fewer are due)."""
        now, due = self.store.clock(), self._due
        while due and due[0][0] <= now and limit > 0:
            limit -= 1
            _, kind, key = heapq.heappop(due)
            dies_at = self._dies_at(kind, key)
            if dies_at is None:
                continue  # gone already, or not dying by time (revisited when it empties)
            if dies_at + RETAIN <= now:
                self._remove(kind, key)
                self.pruned += 1
            else:
                heapq.heappush(due, (dies_at + RETAIN, kind, key))
        self._compact()

    def _dies_at(self, kind: str, key: str) -> float | None:
        store = self.store
        if kind == ACCESS:
            access = store.access.get(key)
            return None if access is None else access.exp
        if kind == REFRESH:
            refresh = store.refresh.get(key)
            return None if refresh is None else self._refresh_dies(refresh)
        if kind == CODE:
            code = store.codes.get(key)
            return None if code is None else code.expires_at
        if kind == DEVICE:
            device = store.devices.get(key)
            return None if device is None else device.expires_at
        return self._grant_dies(key)

    def _refresh_dies(self, record: RefreshRecord) -> float:
        grant = self.store.grants.get(record.grant_id)
        if grant is None:  # not (yet) stored: judge by the default window
            return record.last_used + self.idle("")
        if grant.revoked:
            return -math.inf
        idle_end = record.last_used + self.idle(grant.app)
        return idle_end if grant.expires_at is None else min(idle_end, grant.expires_at)

    def _grant_dies(self, grant_id: str) -> float | None:
        grant = self.store.grants.get(grant_id)
        family = self.store.families.get(grant_id)
        if grant is None:
            return None if family is None else -math.inf  # tokens minted after it went
        return -math.inf if grant.revoked or not family else None

    def _remove(self, kind: str, key: str) -> None:
        store = self.store
        if kind == ACCESS:
            self._forget_token(store.access.pop(key).grant_id, key, refresh=False)
        elif kind == REFRESH:
            self._forget_token(store.refresh.pop(key).grant_id, key, refresh=True)
        elif kind == CODE:
            del store.codes[key]
        elif kind == DEVICE:
            device = store.devices.pop(key)
            if store.user_codes.get(device.user_code) == key:
                del store.user_codes[device.user_code]
        else:
            self._remove_family(key)

    def _forget_token(self, grant_id: str | None, key: str, *, refresh: bool) -> None:
        family = self.store.families.get(grant_id or "")
        if family is None:
            return
        (family.refresh if refresh else family.access).discard(key)
        if not family:
            heapq.heappush(self._due, (-math.inf, GRANT, grant_id or ""))

    def _remove_family(self, grant_id: str) -> None:
        store = self.store
        family = store.families.pop(grant_id, Family())
        for jti in family.access:
            store.access.pop(jti, None)
        for token in family.refresh:
            store.refresh.pop(token, None)
        store.grants.pop(grant_id, None)

    def _compact(self) -> None:
        """Drop entries of records removed another way once they outnumber the live ones."""
        if len(self._due) <= COMPACT_SLACK:
            return
        store = self.store
        tables: dict[str, Mapping[str, object]] = {
            ACCESS: store.access, REFRESH: store.refresh, CODE: store.codes,
            DEVICE: store.devices, GRANT: store.grants,
        }  # fmt: skip
        live = sum(len(table) for table in tables.values())
        if len(self._due) <= 2 * live + COMPACT_SLACK:
            return
        self._due = [entry for entry in self._due if entry[2] in tables[entry[1]]]
        heapq.heapify(self._due)

    def __len__(self) -> int:
        return len(self._due)
