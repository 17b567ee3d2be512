"""Teaching and testing controls, shared by :class:`DevServer` (Python) and ``/admin`` (HTTP)."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from ._authority import Authority
from ._settings import AppSettings, SettingsError
from ._state import Event, Fault

__all__ = ["Controls"]

FAULT_STATUSES = (429, 500, 502, 503, 504)
MAX_FAULT_COUNT = 10_000
MAX_FAULT_LATENCY = 120.0  # longer than any client timeout worth testing
MAX_CLOCK_OFFSET = 100 * 366 * 24 * 3600  # a century: dates stay printable, times finite


def _checked_offset(offset: float) -> float:
    """The new clock offset, or :class:`SettingsError` for one that would break every answer."""
    if not math.isfinite(offset) or abs(offset) > MAX_CLOCK_OFFSET:
        raise SettingsError(
            f"the clock offset must be a finite number of seconds within +/-{MAX_CLOCK_OFFSET}"
        )
    return offset


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return _is_int(value) or isinstance(value, float)


def _check_fault(
    status: int | None, count: int, latency: float, drop: bool, html: bool | None
) -> None:
    """:class:`SettingsError` for a fault that is malformed or would hang the server."""
    if status is not None and (not _is_int(status) or status not in FAULT_STATUSES):
        raise SettingsError(f"status must be one of {FAULT_STATUSES}, not {status!r}")
    if not _is_int(count):
        raise SettingsError(f"count must be a whole number of calls, not {type(count).__name__}")
    if not _is_number(latency):
        raise SettingsError(f"latency must be a number of seconds, not {type(latency).__name__}")
    if not isinstance(drop, bool) or not isinstance(html, (bool, type(None))):
        raise SettingsError("drop must be true or false, and html true, false or null")
    if count < 1 or latency < 0 or (status is None and not drop and not latency):
        raise SettingsError("a fault needs count >= 1 and a status, latency > 0 or drop")
    if count > MAX_FAULT_COUNT or not math.isfinite(latency) or latency > MAX_FAULT_LATENCY:
        raise SettingsError(
            f"a fault applies to at most {MAX_FAULT_COUNT} calls and adds at most "
            f"{MAX_FAULT_LATENCY:.0f} s of latency"
        )


class Controls:
    """Every run-time control of the dev server; each method is also an ``/admin`` route."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority
        self.store = authority.store

    # -- event log -------------------------------------------------------------------------

    def events(self, since: int = 0) -> list[Event]:
        """Events from cursor ``since`` (counting every event since the last clear), led by
        an ``events_dropped`` marker when the bounded log no longer holds some of them."""
        with self.store.lock:
            return self.store.events.since(since)

    @property
    def events_dropped(self) -> int:
        """Events dropped from the bounded log since the last clear."""
        with self.store.lock:
            return self.store.events.dropped

    def events_count(self) -> dict[str, int]:
        """``recorded`` (the next cursor), ``dropped`` and ``max_events``."""
        with self.store.lock:
            log = self.store.events
            return {"recorded": log.recorded, "dropped": log.dropped, "max_events": log.limit}

    def events_json(self, since: int = 0) -> list[dict[str, Any]]:
        return [asdict(event) for event in self.events(since)]

    def clear_events(self) -> None:
        with self.store.lock:
            self.store.events.clear()

    # -- users and logins ------------------------------------------------------------------

    def login_as(
        self,
        user: str = "ada@example.com",
        app: str = "native",
        scopes: list[str] | tuple[str, ...] | str | None = None,
        server: str = "default",
    ) -> dict[str, Any]:
        """The token response a completed login would give (no browser needed)."""
        settings = self.authority.app(app)
        auth_server = self._server(server)
        raw = " ".join(scopes) if isinstance(scopes, (list, tuple)) else scopes
        chosen = self.authority.check_scopes(
            auth_server, raw or "openid email profile offline_access"
        )
        login = self.authority.settings.user(user).login
        now = int(self.store.clock())
        body, _ = self.authority.issue_login(auth_server, settings, login, chosen, now, None)
        return body

    def approve_device(self, user_code: str, user: str = "ada@example.com") -> None:
        """Act as ``user`` on the ``/activate`` page and allow ``user_code``."""
        self._decide_device(user_code, self.authority.settings.user(user).login)

    def deny_device(self, user_code: str) -> None:
        self._decide_device(user_code, None)

    def _decide_device(self, user_code: str, login: str | None) -> None:
        code = user_code.strip().upper().replace("-", "").replace(" ", "")
        with self.store.lock:
            device_code = self.store.user_codes.get(code)
            record = self.store.devices.get(device_code or "")
            if record is None or record.status != "pending":
                raise SettingsError(f"no pending device login with user code {code!r}")
            if record.expires_at < self.store.clock():
                raise SettingsError(f"the device code for {code!r} has expired")
            record.status, record.user = ("approved", login) if login else ("denied", None)

    def set_auto_approve(self, user: str | None) -> None:
        login = self.authority.settings.user(user).login if user else None
        with self.store.lock:
            self.store.auto_approve = login

    def expire_access_tokens(self, user: str) -> int:
        return self.store.expire_access_tokens(self.authority.settings.user(user).login)

    def revoke_user(self, user: str) -> int:
        return self.store.revoke_user(self.authority.settings.user(user).login)

    # -- server configuration --------------------------------------------------------------

    def rotate_keys(self, server: str = "default") -> str:
        return self.authority.rotate_keys(server)

    def configure_app(self, name: str, **changes: Any) -> AppSettings:
        for alias, real in (("rotation_type", "rotation"), ("leeway", "grace_period")):
            if alias in changes:
                changes[real] = changes.pop(alias)
        return self.authority.configure_app(name, **changes)

    def inject_fault(
        self,
        status: int | None = None,
        *,
        count: int = 1,
        latency: float = 0.0,
        drop: bool = False,
        html: bool | None = None,
    ) -> None:
        """Make the next ``count`` token-endpoint calls fail or slow down.

        ``status`` 429 answers with Okta's rate-limit headers and body, 500 with
        ``server_error`` JSON, 502/503/504 with an HTML page, as a load balancer would.
        """
        _check_fault(status, count, latency, drop, html)
        as_html = status in (502, 503, 504) if html is None else html
        fault = Fault(count=count, status=status, latency=latency, drop=drop, html=as_html)
        with self.store.lock:
            self.store.faults.append(fault)

    def clear_faults(self) -> None:
        with self.store.lock:
            self.store.faults.clear()

    @property
    def clock_offset(self) -> float:
        return self.store.clock.offset

    def set_clock_offset(self, seconds: float) -> None:
        with self.store.lock:
            self.store.clock.offset = _checked_offset(float(seconds))

    def advance_clock(self, seconds: float) -> float:
        with self.store.lock:
            self.store.clock.offset = _checked_offset(self.store.clock.offset + float(seconds))
            return self.store.clock.offset

    def _server(self, server_id: str) -> Any:
        found = self.authority.server(server_id)
        if found is None:
            raise SettingsError(f"no authorization server {server_id!r}; use 'org' or 'default'")
        return found
